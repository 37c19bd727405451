package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Action is what a restore does to one object.
type Action string

// Actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	// Differs: the live object differs from the revision and is left
	// as it is; --force updates it.
	Differs Action = "differs"
	Prune   Action = "prune"
	Skip    Action = "skip"
	// Keep: a live object the revision does not hold, in the prune
	// scope, that is never pruned (Reason says why). Listed with --prune.
	Keep Action = "keep"
)

// Item is one object of a plan.
type Item struct {
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Phase     Phase  `json:"phase"`
	Action    Action `json:"action"`
	// Reason says why an object is skipped, differs or was not
	// validated.
	Reason string `json:"reason,omitempty"`

	t         canonical.Type
	obj       *unstructured.Unstructured // what is applied; nil for Prune
	canonical bool                       // the file is in canonical form
	// rules are the user's rules that select the object live or in the
	// revision: both sides are compared without what they remove.
	rules canonical.Rules
}

// facts are how the item's two sides are normalized for comparing.
func (it *Item) facts() canonical.Facts {
	f := keep
	f.Rules = it.rules
	return f
}

// ID is the object the item is about.
func (it Item) ID() canonical.ID {
	return canonical.ID{Group: it.Group, Resource: it.Resource, Namespace: it.Namespace, Name: it.Name}
}

// Plan is what a restore will do, object by object, in phase order.
type Plan struct {
	Items []Item `json:"objects"`
	// ServerVersion is the target's; RevisionServerVersion the one the
	// revision was taken from (its Kubesnap-Server-Version trailer).
	ServerVersion         string `json:"serverVersion"`
	RevisionServerVersion string `json:"revisionServerVersion,omitempty"`
	// Warnings are about the restore as a whole: another minor version,
	// Secrets that cannot be restored, what cloning does not rewrite.
	Warnings []string `json:"warnings,omitempty"`
	// Unpruned counts live objects in scope that the revision does not
	// hold and that stay (no --prune).
	Unpruned int `json:"unpruned"`
	// PruneScope says what --prune may delete in: the scope the
	// snapshot recorded, intersected with the restore's filters.
	PruneScope string `json:"pruneScope"`
}

// Counts counts the items per action.
func (p *Plan) Counts() map[Action]int {
	out := map[Action]int{}
	for _, it := range p.Items {
		out[it.Action]++
	}
	return out
}

// Options shape a plan.
type Options struct {
	Filter canonical.Filter
	// Force updates live objects that differ; Prune deletes live objects
	// in scope that the revision does not hold.
	Force, Prune bool
	// Scope is what the revision's snapshot captured (ReadScope): only
	// live objects inside it, and inside Filter, are pruned. Prune
	// refuses a revision whose scope is not Recorded.
	Scope canonical.Scope
	// PruneCRDs lets Prune delete CustomResourceDefinitions, and with
	// each every custom resource of its type (listed in the plan).
	PruneCRDs bool
	// NamespaceMap moves objects from one namespace to another (OLD →
	// NEW), Namespaces and binding subjects included.
	NamespaceMap map[string]string
	// RevisionServerVersion is the revision's Kubesnap-Server-Version.
	RevisionServerVersion string
	// Validate dry-runs every create as well (--dry-run); updates are
	// always dry-run, to tell real differences from a file's form.
	Validate bool
	// Workers bounds the dry-runs in flight; 0 means 8.
	Workers int
	// Rules are the user's normalization rules: the fields they ignore
	// are neither sent nor compared, so a restore leaves them as they are
	// live (the Target must leave them to their managers on a forced
	// apply, too).
	Rules canonical.Rules
}

// MakePlan compares the revision's objects with the target and decides,
// per object, what a restore does. It changes nothing. Objects of a type
// the target does not serve (and no CRD of the revision defines) are
// skipped with the reason, as are Secrets whose values git does not hold.
func MakePlan(ctx context.Context, target Target, objs []Object, opts Options) (*Plan, error) {
	if len(objs) == 0 {
		return nil, ErrNoObjects
	}
	if opts.Prune && !opts.Scope.Recorded {
		return nil, ErrNoScope
	}
	types, version, err := target.Served(ctx)
	if err != nil {
		return nil, err
	}
	plan := &Plan{ServerVersion: version, RevisionServerVersion: opts.RevisionServerVersion}
	if w := versionWarning(opts.RevisionServerVersion, version); w != "" {
		plan.Warnings = append(plan.Warnings, w)
	}
	objs, notes := mapNamespaces(objs, opts.NamespaceMap)
	plan.Warnings = append(plan.Warnings, notes...)

	served := map[string]canonical.Type{}
	for _, t := range types {
		served[t.ResourceDir()] = t
	}
	pending := map[string]canonical.Type{} // defined by a CRD of the revision
	for _, o := range objs {
		if o.ID.ResourceDir() == "customresourcedefinitions.apiextensions.k8s.io" {
			if t, ok := crdType(o.Obj); ok && served[t.ResourceDir()].Resource == "" {
				pending[t.ResourceDir()] = t
			}
		}
	}

	desired := map[string]*Item{}
	var bad []string
	var redacted, sealed []string
	for _, o := range objs {
		it := Item{Group: o.ID.Group, Resource: o.ID.Resource, Namespace: o.ID.Namespace, Name: o.ID.Name, Path: o.Path, Phase: PhaseOf(o.ID), obj: applyable(o.Obj), canonical: o.Canonical}
		opts.Rules.Apply(it.obj) // a revision written before a rule may hold its fields
		dir := o.ID.ResourceDir()
		t, ok := served[dir]
		if !ok {
			t, ok = pending[dir]
		}
		switch {
		case !ok:
			it.Action, it.Reason = Skip, fmt.Sprintf("the target does not serve %s (%s)", dir, o.Obj.GetAPIVersion())
		case t.Kind != "" && t.Kind != o.Obj.GetKind():
			bad = append(bad, fmt.Sprintf("%s: holds a %s, but %s are %s; fix or remove the file", o.Path, o.Obj.GetKind(), dir, t.Kind))
			continue
		case o.Sealed:
			it.Action, it.Reason = Skip, "encrypted in git: give its key with --age-identity FILE (or SOPS_AGE_KEY_FILE) to restore it"
			sealed = append(sealed, it.ID().String())
		case o.Obj.GetAnnotations()[canonical.RedactedAnnotation] == "true" || canonical.HoldsRedacted(o.Obj):
			// By its values too: a file whose annotation was removed
			// would write markers over the live values.
			it.Action, it.Reason = Skip, "its values are redacted in git: restore it from where it came from"
			redacted = append(redacted, it.ID().String())
		default:
			if why, skip := canonical.SkipObject(o.Obj); skip {
				// A revision written before the rule may hold it.
				it.Action, it.Reason = Skip, "not restored: "+why
			}
		}
		it.t = t
		plan.Items = append(plan.Items, it)
	}
	if len(bad) > 0 {
		return nil, &BadFilesError{Lines: bad}
	}
	if err := unservedVersions(ctx, target, plan, pending); err != nil {
		return nil, err
	}
	for i := range plan.Items {
		if plan.Items[i].Action == "" {
			desired[plan.Items[i].Path] = &plan.Items[i]
		}
	}
	if len(redacted) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s skipped, git holds no values for them (redacted): %s", count(len(redacted), "object is", "objects are"), joinFirst(redacted, 10)))
	}
	if len(sealed) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s skipped, encrypted in git and no key given (--age-identity or SOPS_AGE_KEY_FILE): %s", count(len(sealed), "object is", "objects are"), joinFirst(sealed, 10)))
	}
	// plan.Items does not grow until settle is done: the pointers in
	// desired stay valid.

	held := map[string]bool{} // every object the revision holds, in any form
	for _, it := range plan.Items {
		held[it.Path] = true
	}
	live, prunes, err := compareLive(ctx, target, types, desired, held, opts, plan)
	if err != nil {
		return nil, err
	}
	if err := settle(ctx, target, desired, live, opts); err != nil {
		return nil, err
	}
	plan.Items = append(plan.Items, prunes...)
	sort.SliceStable(plan.Items, func(i, j int) bool {
		a, b := plan.Items[i], plan.Items[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		return a.Path < b.Path
	})
	return plan, nil
}

// settle decides each desired object's action: create when it is not
// live, unchanged when the canonical bytes match, and otherwise what a
// server-side dry-run says (a file edited by hand may differ only in
// form): unchanged, or update (--force) / differs.
func settle(ctx context.Context, target Target, desired map[string]*Item, live map[string][]byte, opts Options) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	// A create into a namespace, or of a type, that this restore makes
	// first cannot be dry-run now.
	created := map[string]bool{}
	for path, it := range desired {
		if _, isLive := live[path]; !isLive {
			switch it.ID().ResourceDir() {
			case "namespaces":
				created["namespace "+it.Name] = true
			case "customresourcedefinitions.apiextensions.k8s.io":
				if t, ok := crdType(it.obj); ok {
					created["type "+t.ResourceDir()] = true
				}
			}
		}
	}
	for path, it := range desired {
		have, isLive := live[path]
		switch {
		case !isLive:
			it.Action = Create
			if !opts.Validate {
				continue
			}
			if created["namespace "+it.Namespace] || created["type "+it.ID().ResourceDir()] {
				it.Reason = "validated when applied: this restore makes its namespace or type first"
				continue
			}
		case bytes.Equal(canonicalBytes(it.obj, it.facts()), have):
			it.Action = Unchanged
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dryRun(ctx, target, it, have, isLive, opts.Force, it.facts())
		})
	}
	wg.Wait()
	return ctx.Err()
}

// dryRun asks the server what applying it would store: for a create it
// validates; for a live object it compares with what is there.
func dryRun(ctx context.Context, target Target, it *Item, have []byte, isLive, force bool, facts canonical.Facts) {
	would, err := target.DryRun(ctx, it.t, it.obj)
	if !isLive {
		if err != nil {
			it.Reason = "the server would refuse it: " + err.Error()
		}
		return
	}
	it.Action = Differs
	if force {
		it.Action = Update
	}
	if err != nil {
		it.Reason = "dry-run refused: " + err.Error()
		return
	}
	// A file kubesnap wrote differs for real: fields someone added live
	// are kept by a plain apply, so the dry-run may match the live object
	// where --force (which takes those fields over) would remove them.
	if !it.canonical && bytes.Equal(canonicalBytes(would, facts), have) {
		it.Action = Unchanged
	}
}

// ignoreLive removes from obj, the revision's object, what rules remove
// from live, the live one: manager rules read live's managedFields, which
// obj (a file) has none of, so a revision written before a manager rule
// neither sends nor compares the fields that manager owns live.
func ignoreLive(obj, live *unstructured.Unstructured, rules canonical.Rules) {
	if len(rules) == 0 {
		return
	}
	meta, _ := obj.Object["metadata"].(map[string]any)
	liveMeta, _ := live.Object["metadata"].(map[string]any)
	if meta == nil || liveMeta["managedFields"] == nil {
		rules.Apply(obj)
		return
	}
	meta["managedFields"] = liveMeta["managedFields"]
	rules.Apply(obj)
	delete(meta, "managedFields")
}

// canonicalBytes is obj in canonical form, for comparing.
func canonicalBytes(obj *unstructured.Unstructured, facts canonical.Facts) []byte {
	c := obj.DeepCopy()
	canonical.Normalize(c, facts)
	data, err := canonical.Marshal(c)
	if err != nil {
		return nil // compares unequal to anything live
	}
	return data
}

// applyable is obj without what the server owns: what a restore sends.
func applyable(obj *unstructured.Unstructured) *unstructured.Unstructured {
	c := obj.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "generation", "creationTimestamp", "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c
}

// crdType is the resource type a CustomResourceDefinition defines, in its
// storage version.
func crdType(crd *unstructured.Unstructured) (canonical.Type, bool) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var version string
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if s, _ := m["storage"].(bool); s {
			version, _ = m["name"].(string)
		}
	}
	if group == "" || plural == "" || version == "" {
		return canonical.Type{}, false
	}
	return canonical.Type{Group: group, Version: version, Resource: plural, Kind: kind, Namespaced: scope == "Namespaced"}, true
}

// versionWarning warns when the target runs another minor version than
// the revision was taken from.
func versionWarning(from, to string) string {
	if from == "" || to == "" {
		return ""
	}
	if minor(from) != minor(to) {
		return fmt.Sprintf("the revision was taken from Kubernetes %s and the target runs %s: objects of API versions the target does not serve are skipped", from, to)
	}
	return ""
}

// minor is "v1.37" of "v1.37.2".
func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// mappedFilter is f with its namespaces moved as the namespace map moves
// objects, for the target's side.
func mappedFilter(f canonical.Filter, m map[string]string) canonical.Filter {
	if len(m) == 0 {
		return f
	}
	mapAll := func(in []string) []string {
		out := make([]string, len(in))
		for i, ns := range in {
			out[i] = ns
			if to, ok := m[ns]; ok {
				out[i] = to
			}
		}
		return out
	}
	f.IncludeNamespaces = mapAll(f.IncludeNamespaces)
	f.ExcludeNamespaces = mapAll(f.ExcludeNamespaces)
	// What is moved away from a namespace is not restored there: its
	// live objects are out of scope (a clone must never prune its source).
	targets := map[string]bool{}
	for _, to := range m {
		targets[to] = true
	}
	for from := range m {
		if !targets[from] {
			f.ExcludeNamespaces = append(f.ExcludeNamespaces, from)
		}
	}
	return f
}

// ErrNoObjects stops a restore of a revision with nothing in scope: with
// --prune it would delete everything.
var ErrNoObjects = errors.New("the revision holds no objects in scope: check --rev, --path and the filters")

// unservedVersions skips objects stored in another version than the one
// the target prefers, when the target does not serve that version at all
// (a revision from an older Kubernetes): a dry-run says, so that they are
// "skip (why)" in the plan and never fail mid-apply.
func unservedVersions(ctx context.Context, target Target, plan *Plan, pending map[string]canonical.Type) error {
	for i := range plan.Items {
		it := &plan.Items[i]
		if it.Action != "" || pending[it.ID().ResourceDir()].Resource != "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(it.obj.GetAPIVersion())
		if err != nil || gv.Version == it.t.Version {
			continue
		}
		if _, err := target.DryRun(ctx, it.t, it.obj); errors.Is(err, ErrNotServed) {
			it.Action, it.Reason = Skip, fmt.Sprintf("the target does not serve %s (it serves %s/%s)", it.obj.GetAPIVersion(), it.t.Group, it.t.Version)
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// count says "1 object is" or "3 objects are".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinFirst joins the first n items and says how many more there are.
func joinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
