package canonical

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Filter is the scope every command works on: the namespaces, resources and
// labels given by --include-namespaces, --exclude-namespaces,
// --include-resources, --exclude-resources and --selector. The zero Filter
// takes everything.
//
// Cluster-scoped objects belong to no namespace: when IncludeNamespaces is
// set, the only cluster-scoped objects in scope are those Namespaces
// themselves and objects of types named in IncludeResources.
type Filter struct {
	IncludeNamespaces []string
	ExcludeNamespaces []string
	// Resources in kubectl's form: "configmaps", "deployments.apps".
	IncludeResources []string
	ExcludeResources []string
	Selector         labels.Selector
}

// ParseSelector parses a label selector as kubectl's -l does.
func ParseSelector(s string) (labels.Selector, error) {
	if s == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad --selector %q: %w", s, err)
	}
	return sel, nil
}

// Validate reports resource names not in kubectl's "<resource>[.<group>]"
// form.
func (f Filter) Validate() error {
	for _, r := range slices.Concat(f.IncludeResources, f.ExcludeResources) {
		if r == "" || strings.ContainsAny(r, "/ ") || r != strings.ToLower(r) {
			return fmt.Errorf("bad resource %q: use kubectl's plural form, e.g. configmaps or deployments.apps", r)
		}
	}
	return nil
}

// Type reports whether objects of type t can be in scope.
func (f Filter) Type(t Type) bool {
	dir := t.ResourceDir()
	if slices.Contains(f.ExcludeResources, dir) {
		return false
	}
	if len(f.IncludeResources) > 0 && !slices.Contains(f.IncludeResources, dir) {
		return false
	}
	if !t.Namespaced && len(f.IncludeNamespaces) > 0 {
		return dir == "namespaces" || slices.Contains(f.IncludeResources, dir)
	}
	return true
}

// Names reports whether t is named in IncludeResources: such a type is
// captured even when a default rule would skip it.
func (f Filter) Names(t Type) bool {
	return slices.Contains(f.IncludeResources, t.ResourceDir())
}

// Namespace reports whether objects in namespace ns are in scope.
func (f Filter) Namespace(ns string) bool {
	if slices.Contains(f.ExcludeNamespaces, ns) {
		return false
	}
	return len(f.IncludeNamespaces) == 0 || slices.Contains(f.IncludeNamespaces, ns)
}

// ID reports whether the object id is in scope, labels aside.
func (f Filter) ID(id ID) bool {
	t := Type{Group: id.Group, Resource: id.Resource, Namespaced: id.Namespace != ""}
	if !f.Type(t) {
		return false
	}
	if id.Namespace != "" {
		return f.Namespace(id.Namespace)
	}
	if id.Group == "" && id.Resource == "namespaces" {
		return f.Namespace(id.Name)
	}
	return true
}

// Labels reports whether an object with these labels is in scope.
func (f Filter) Labels(l map[string]string) bool {
	return f.Selector == nil || f.Selector.Matches(labels.Set(l))
}
