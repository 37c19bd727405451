package main

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	"github.com/spf13/cobra"
)

// completionObjects is how many namespaces or object names one completion
// asks a cluster for: a single page.
const completionObjects = 500

// typeChoice is a type as completion offers it.
type typeChoice struct {
	name       string // kubectl's form, as folders are named: deployments.apps, configmaps
	kind       string // "" when not known without reading a file
	namespaced bool
	live       canonical.Type      // the type served, for a liveSource
	stored     storedTypeCandidate // the type's folder, for a storedSource
}

// objectSource is where completion finds types, namespaces and object
// names: the live cluster or a stored revision.
type objectSource interface {
	types() []typeChoice
	// find is the one type typ names, as the commands read it.
	find(typ string) (typeChoice, bool)
	// namespaces are those holding objects of t, or all of them (t nil,
	// or a cluster, which is not asked per type).
	namespaces(ctx context.Context, t *typeChoice) ([]string, error)
	names(ctx context.Context, t typeChoice, namespace string) ([]string, error)
}

// sourceOpener opens an objectSource for cmd; nil when it cannot answer
// (no repository named, a cluster that is down).
type sourceOpener func(ctx context.Context, cmd *cobra.Command) objectSource

// firstSource is the first of open that answers, nil when none does.
func firstSource(ctx context.Context, cmd *cobra.Command, open ...sourceOpener) objectSource {
	for _, o := range open {
		if src := o(ctx, cmd); src != nil {
			return src
		}
	}
	return nil
}

// liveSource reads the cluster of the command's kubeconfig flags.
type liveSource struct {
	c      *kube.Cluster
	served []typeChoice
}

// openLive discovers the served types that can be listed.
func openLive(ctx context.Context, cmd *cobra.Command) objectSource {
	c, err := completionCluster(cmd)
	if err != nil {
		return nil
	}
	d, err := c.Discover(ctx)
	if err != nil {
		return nil
	}
	s := &liveSource{c: c}
	for _, t := range d.Types {
		if strings.Contains(t.Resource, "/") || !slices.Contains(t.Verbs, "list") {
			continue
		}
		s.served = append(s.served, typeChoice{name: t.ResourceDir(), kind: t.Kind, namespaced: t.Namespaced, live: t})
	}
	return s
}

func (s *liveSource) types() []typeChoice { return s.served }

// find takes kubectl's form, then a resource one group alone serves,
// then a kind one type alone has.
func (s *liveSource) find(typ string) (typeChoice, bool) {
	for _, match := range []func(typeChoice) bool{
		func(t typeChoice) bool { return t.name == typ },
		func(t typeChoice) bool { return t.live.Resource == typ },
		func(t typeChoice) bool { return strings.EqualFold(t.kind, typ) },
	} {
		var found []typeChoice
		for _, t := range s.served {
			if match(t) {
				found = append(found, t)
			}
		}
		if len(found) == 1 {
			return found[0], true
		}
		if len(found) > 1 {
			return typeChoice{}, false
		}
	}
	return typeChoice{}, false
}

func (s *liveSource) namespaces(ctx context.Context, _ *typeChoice) ([]string, error) {
	return s.c.Namespaces(ctx, completionObjects)
}

func (s *liveSource) names(ctx context.Context, t typeChoice, namespace string) ([]string, error) {
	return s.c.Names(ctx, t.live, namespace, completionObjects)
}

// storedSource reads one revision of the repository.
type storedSource struct {
	v   *gitstore.Revision
	all []storedTypeCandidate
}

// openStoredAt opens the repository of the command line at rev, or at
// the newest commit at or before the time at (show's and restore's
// --at).
func openStoredAt(rev, at string) sourceOpener {
	return func(_ context.Context, cmd *cobra.Command) objectSource {
		repo := completionRepo(cmd)
		if repo == nil {
			return nil
		}
		v, err := showRevision(repo, rev, at)
		if err != nil {
			return nil
		}
		all, err := storedTypes(v)
		if err != nil {
			return nil
		}
		return &storedSource{v: v, all: all}
	}
}

func (s *storedSource) types() []typeChoice {
	out := make([]typeChoice, 0, len(s.all))
	for _, c := range s.all {
		out = append(out, typeChoice{name: c.res, namespaced: c.namespaced, stored: c})
	}
	slices.SortFunc(out, func(a, b typeChoice) int { return strings.Compare(a.name, b.name) })
	return out
}

func (s *storedSource) find(typ string) (typeChoice, bool) {
	found := findStoredType(s.v, s.all, typ)
	if len(found) != 1 {
		return typeChoice{}, false
	}
	return typeChoice{name: found[0].res, namespaced: found[0].namespaced, stored: found[0]}, true
}

func (s *storedSource) namespaces(_ context.Context, t *typeChoice) ([]string, error) {
	dirs, _, err := s.v.Entries("namespaces")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dirs {
		id, err := canonical.ParsePath("namespaces/" + d + "/x/x.yaml")
		if err != nil {
			continue // no folder kubesnap writes
		}
		if t != nil {
			_, files, err := s.v.Entries(typeFolder(t.stored.id, id.Namespace))
			if err != nil || len(files) == 0 {
				continue
			}
		}
		out = append(out, id.Namespace)
	}
	return out, nil
}

func (s *storedSource) names(_ context.Context, t typeChoice, namespace string) ([]string, error) {
	folder := typeFolder(t.stored.id, namespace)
	_, files, err := s.v.Entries(folder)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if id, err := canonical.ParsePath(folder + "/" + f); err == nil {
			out = append(out, id.Name)
		}
	}
	return out, nil
}

// typeFolder is the folder of the objects of the type of id in namespace
// ("" for cluster-scoped ones).
func typeFolder(id canonical.ID, namespace string) string {
	return path.Dir(canonical.PathOf(canonical.ID{Group: id.Group, Resource: id.Resource, Namespace: namespace, Name: "x"}))
}

// completeTypeList completes --include-resources and the like: the
// served types, or when no cluster answers the types stored at --rev.
// The value is a comma-separated list: the part after the last comma is
// completed, and the types already listed are not offered again.
func completeTypeList(ctx context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	src := firstSource(ctx, cmd, openLive, openStoredAt(flagValue(cmd, "rev"), flagValue(cmd, "at")))
	if src == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var all []string
	what := map[string]string{}
	for _, t := range src.types() {
		all = append(all, t.name)
		what[t.name] = t.kind
	}
	return listCompletions(toComplete, all, what), cobra.ShellCompDirectiveNoFileComp
}

// completeNamespaceList completes --include-namespaces and the like, as
// completeTypeList does types.
func completeNamespaceList(ctx context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	src := firstSource(ctx, cmd, openLive, openStoredAt(flagValue(cmd, "rev"), flagValue(cmd, "at")))
	if src == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	nss, err := src.namespaces(ctx, nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return listCompletions(toComplete, nss, nil), cobra.ShellCompDirectiveNoFileComp
}

// listCompletions completes the last item of the comma-separated list
// toComplete from all, leaving out the items already in it.
func listCompletions(toComplete string, all []string, what map[string]string) []cobra.Completion {
	head, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		head, last = toComplete[:i+1], toComplete[i+1:]
	}
	listed := map[string]bool{}
	for item := range strings.SplitSeq(head, ",") {
		listed[item] = true
	}
	var out []cobra.Completion
	for _, a := range all {
		if !listed[a] && strings.HasPrefix(a, last) {
			out = appendCompletion(out, toComplete, head+a, what[a])
		}
	}
	return out
}

// objectPlace says whether the argument being completed, after args, is
// the object of the command, and at which revision (rev, or the time
// at) to look it up.
type objectPlace func(cmd *cobra.Command, args []string) (rev, at string, ok bool)

// completeObjectArg completes the TYPE/NAMESPACE/NAME argument of
// history, show and blame, one part at a time: the type (and a "/"),
// then for a namespaced type the namespace (and a "/"), then the name.
// It reads the repository first, at the revision the command reads,
// since these commands name objects as the repository holds them (a
// deleted object too), then the cluster when no repository can be read.
func completeObjectArg(place objectPlace) cobra.CompletionFunc {
	return quietly(func(ctx context.Context, cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		rev, at, ok := place(cmd, args)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		src := firstSource(ctx, cmd, openStoredAt(rev, at), openLive)
		if src == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return objectCompletions(ctx, src, toComplete)
	})
}

// objectCompletions completes toComplete, a TYPE/NAMESPACE/NAME being
// typed, from src.
func objectCompletions(ctx context.Context, src objectSource, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const more = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	var out []cobra.Completion
	parts := strings.Split(toComplete, "/")
	if len(parts) == 1 {
		for _, t := range src.types() {
			out = appendCompletion(out, toComplete, t.name+"/", t.kind)
		}
		return out, more
	}
	t, ok := src.find(parts[0])
	if !ok || len(parts) > 3 || len(parts) == 3 && !t.namespaced {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if len(parts) == 2 && t.namespaced {
		nss, err := src.namespaces(ctx, &t)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		for _, ns := range nss {
			out = appendCompletion(out, toComplete, parts[0]+"/"+ns+"/", "")
		}
		return out, more
	}
	namespace := ""
	if t.namespaced {
		namespace = parts[1]
	}
	names, err := src.names(ctx, t, namespace)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	prefix := strings.Join(parts[:len(parts)-1], "/") + "/"
	for _, n := range names {
		out = appendCompletion(out, toComplete, prefix+n, "")
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
