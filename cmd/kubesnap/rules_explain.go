package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// explainReport is what rules --explain -o json prints.
type explainReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Path       string `json:"path,omitempty"`
	canonical.Explanation
}

// explainTarget reads the object --explain names: a file, standard input,
// or a live object. t is its type when known (a live object, or a file
// whose path is where kubesnap stores it). sensitive are o.sensitive,
// checked against the server's types and in the <resource>.<group> form
// for a live object; as given for a file (no server is asked: see
// sensitiveType).
func explainTarget(ctx context.Context, o rulesOptions) (obj *unstructured.Unstructured, t *canonical.Type, sensitive []string, err error) {
	arg := o.explain
	if arg == "-" {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, nil, nil, err
		}
		obj, err := parseExplained("standard input", data)
		return obj, nil, o.sensitive, err
	}
	if data, err := os.ReadFile(arg); err == nil {
		obj, err := parseExplained(arg, data)
		if err != nil {
			return nil, nil, nil, err
		}
		return obj, storedType(arg, obj), o.sensitive, nil
	} else if !errors.Is(err, os.ErrNotExist) || !strings.Contains(arg, "/") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".json") {
		return nil, nil, nil, usageError{fmt.Errorf("--explain %s: %w; give a file, - for standard input, or TYPE/[NAMESPACE/]NAME of a live object", arg, unwrapPathError(err))}
	}
	parts := strings.Split(arg, "/")
	if len(parts) > 3 || slices.Contains(parts, "") {
		return nil, nil, nil, usageError{fmt.Errorf("--explain %s: want TYPE/NAMESPACE/NAME or TYPE/NAME (deployments.apps/default/web), a file, or -", arg)}
	}
	cluster, err := kube.Connect(o.cluster)
	if err != nil {
		return nil, nil, nil, err
	}
	disc, err := cluster.Discover(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if sensitive, err = resolveSensitive(o.sensitive, disc, o.sensitiveFlag); err != nil {
		return nil, nil, nil, err
	}
	found, err := findType(disc.Types, parts[0])
	if err != nil {
		return nil, nil, nil, usageError{fmt.Errorf("--explain %s: %w", arg, err)}
	}
	ns, name := "", parts[len(parts)-1]
	switch t := found; {
	case t.Namespaced && len(parts) != 3:
		return nil, nil, nil, usageError{fmt.Errorf("--explain %s: %s are namespaced; write %s/NAMESPACE/%s", arg, t.ResourceDir(), parts[0], name)}
	case !t.Namespaced && len(parts) != 2:
		return nil, nil, nil, usageError{fmt.Errorf("--explain %s: %s are cluster-scoped; write %s/%s", arg, t.ResourceDir(), parts[0], name)}
	case t.Namespaced:
		ns = parts[1]
	}
	if obj, err = cluster.Get(ctx, found, ns, name); err != nil {
		return nil, nil, nil, err
	}
	return obj, &found, sensitive, nil
}

// findType finds the type a user named: its resource in kubectl's form
// (deployments.apps, configmaps), or its kind (Deployment, any case).
func findType(types []canonical.Type, name string) (canonical.Type, error) {
	var found []canonical.Type
	for _, t := range types {
		if t.ResourceDir() == name || t.Resource == name || strings.EqualFold(t.Kind, name) {
			found = append(found, t)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return canonical.Type{}, fmt.Errorf("the cluster serves no type %q; use a resource such as deployments.apps or a kind such as Deployment", name)
	}
	for _, t := range found {
		if t.ResourceDir() == name {
			return t, nil
		}
	}
	names := make([]string, len(found))
	for i, t := range found {
		names[i] = t.ResourceDir()
	}
	return canonical.Type{}, fmt.Errorf("%q names %s; write one of them", name, strings.Join(names, ", "))
}

func parseExplained(what string, data []byte) (*unstructured.Unstructured, error) {
	obj, err := canonical.Parse(data)
	var m map[string]any
	switch {
	case err != nil && yaml.Unmarshal(data, &m) != nil:
		return nil, usageError{fmt.Errorf("--explain %s: not a Kubernetes object: %v", what, firstLine(err.Error()))}
	case err != nil || obj.GetKind() == "" || obj.GetAPIVersion() == "" || obj.GetName() == "":
		return nil, usageError{fmt.Errorf("--explain %s: not a Kubernetes object: it needs apiVersion, kind and metadata.name", what)}
	}
	return obj, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// storedType is the type of a file kubesnap stored, read from its path
// (cluster/…, namespaces/…): the path need not start there.
func storedType(file string, obj *unstructured.Unstructured) *canonical.Type {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(file)), "/")
	for i := range parts {
		id, err := canonical.ParsePath(strings.Join(parts[i:], "/"))
		if err != nil || id.Name != obj.GetName() || id.Namespace != obj.GetNamespace() {
			continue
		}
		gv := obj.GroupVersionKind()
		return &canonical.Type{Group: id.Group, Version: gv.Version, Resource: id.Resource, Kind: gv.Kind, Namespaced: id.Namespace != ""}
	}
	return nil
}

// sensitiveType reports whether a name of sensitive could mean obj's type
// t (nil when not known): its <resource>.<group>, its resource or its kind;
// without t, any type of obj's group. For a file no server says what a
// name means, so a name that could mean the type counts: hiding a value
// too many is better than showing one.
func sensitiveType(sensitive []string, obj *unstructured.Unstructured, t *canonical.Type) bool {
	gvk := obj.GroupVersionKind()
	for _, name := range sensitive {
		_, group, full := strings.Cut(name, ".")
		switch {
		case strings.EqualFold(name, gvk.Kind):
			return true
		case t != nil && (name == t.ResourceDir() || name == t.Resource):
			return true
		case t == nil && full && group == gvk.Group:
			return true
		case t == nil && !full && (strings.EqualFold(name, gvk.Kind+"s") || strings.EqualFold(name, gvk.Kind+"es")):
			return true // a guess at the resource's name
		}
	}
	return false
}

func writeExplain(out io.Writer, output string, obj *unstructured.Unstructured, t *canonical.Type, rules canonical.Rules, sensitive []string) error {
	facts := canonical.Facts{Rules: rules}
	switch {
	case t != nil && sensitiveType(sensitive, obj, t):
		// Redacted as the default mode (redact) stores it.
		facts.Protection = snapsync.Secrets{Sensitive: []string{t.ResourceDir()}}.Protection(*t)
	case t != nil:
		facts.Protection = snapsync.Secrets{}.Protection(*t)
	case sensitiveType(sensitive, obj, nil):
		gk := obj.GroupVersionKind().GroupKind()
		facts.Protection.Sensitive = map[schema.GroupKind]bool{gk: true}
	}
	ex, err := canonical.Explain(obj, facts)
	if err != nil {
		return err
	}
	if t != nil && len(t.Verbs) > 0 { // a type discovery told of
		if reason, skip := canonical.SkipType(*t); skip {
			ex = canonical.Explanation{Skipped: "its type " + t.ResourceDir() + " is skipped: " + reason}
		}
	}
	rep := explainReport{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Explanation: ex}
	if t != nil {
		rep.Path = canonical.PathOf(t.ID(obj.GetNamespace(), obj.GetName()))
	}
	if output == "json" {
		return writeJSON(out, rep)
	}
	name := obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	fmt.Fprintf(out, "%s %s (%s)\n", obj.GetKind(), name, obj.GetAPIVersion())
	if rep.Path != "" {
		fmt.Fprintf(out, "path: %s\n", rep.Path)
	}
	fmt.Fprint(out, ex.String())
	return nil
}
