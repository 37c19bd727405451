package canonical

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CoveragePath is where a snapshot's coverage report lives, relative to
// the repository's prefix. It is not a Kubernetes object, so it is named
// so that the tools that apply a checkout (kubectl apply -R -f, Argo CD
// and Flux directory sources, which read .yaml, .yml and .json files)
// pass it by.
const CoveragePath = ".kubesnap/coverage.txt"

// LegacyCoveragePath is the coverage report's name before CoveragePath:
// still read, and replaced by CoveragePath on the next commit.
const LegacyCoveragePath = ".kubesnap/coverage.yaml"

// Scope is what a snapshot recorded about what it captured: the filters it
// was taken with and the types it listed. A restore prunes only inside it:
// a type the snapshot did not capture, or a namespace or label outside its
// filters, says nothing about whether a live object belongs.
type Scope struct {
	// Recorded is false for a coverage report written before kubesnap
	// recorded the scope, and when there is no report: nothing is
	// known, so nothing may be pruned.
	Recorded bool
	// Filter is the snapshot's filters (its selector as written).
	Filter Filter
	// Types are the captured types, "<resource>[.<group>]".
	Types []string
}

// Captured reports whether the snapshot captured objects of type t.
func (s Scope) Captured(t Type) bool {
	return slices.Contains(s.Types, t.ResourceDir())
}

// ScopeFields is a filter as the coverage report records it.
func ScopeFields(f Filter) map[string]any {
	list := func(in []string) []any {
		out := make([]any, 0, len(in))
		for _, s := range in {
			out = append(out, s)
		}
		return out
	}
	sel := ""
	if f.Selector != nil {
		sel = f.Selector.String()
	}
	return map[string]any{
		"includeNamespaces": list(f.IncludeNamespaces),
		"excludeNamespaces": list(f.ExcludeNamespaces),
		"includeResources":  list(f.IncludeResources),
		"excludeResources":  list(f.ExcludeResources),
		"selector":          sel,
	}
}

// ParseCoverage reads the scope out of a coverage report. A report
// without a scope (written by an older kubesnap) gives a Scope that is
// not Recorded; a report that does not parse, or whose scope is malformed,
// is an error.
func ParseCoverage(data []byte) (Scope, error) {
	obj, err := Parse(data)
	if err != nil {
		return Scope{}, fmt.Errorf("not a coverage report: %w", err)
	}
	if obj.GetKind() != "Coverage" {
		return Scope{}, fmt.Errorf("not a coverage report: kind %q", obj.GetKind())
	}
	var s Scope
	captured, _ := obj.Object["captured"].([]any)
	for _, c := range captured {
		m, _ := c.(map[string]any)
		r, _ := m["resource"].(string)
		if r == "" {
			return Scope{}, errors.New("a captured type has no resource")
		}
		s.Types = append(s.Types, r)
	}
	raw, ok := obj.Object["scope"]
	if !ok {
		return s, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Scope{}, errors.New("scope is not a mapping")
	}
	strs := func(key string) ([]string, error) {
		v, _ := m[key].([]any)
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("scope.%s holds a value that is not a name", key)
			}
			out = append(out, s)
		}
		return out, nil
	}
	if s.Filter.IncludeNamespaces, err = strs("includeNamespaces"); err != nil {
		return Scope{}, err
	}
	if s.Filter.ExcludeNamespaces, err = strs("excludeNamespaces"); err != nil {
		return Scope{}, err
	}
	if s.Filter.IncludeResources, err = strs("includeResources"); err != nil {
		return Scope{}, err
	}
	if s.Filter.ExcludeResources, err = strs("excludeResources"); err != nil {
		return Scope{}, err
	}
	sel, _ := m["selector"].(string)
	if s.Filter.Selector, err = ParseSelector(sel); err != nil {
		return Scope{}, fmt.Errorf("scope.selector: %w", err)
	}
	s.Recorded = true
	return s, nil
}

// String says what a scope covers, for a plan: "namespaces shop, all
// types captured" or "every namespace; types: configmaps, secrets;
// selector app=web".
func (s Scope) String() string {
	if !s.Recorded {
		return "not recorded"
	}
	var parts []string
	f := s.Filter
	switch {
	case len(f.IncludeNamespaces) > 0:
		parts = append(parts, "namespaces "+strings.Join(f.IncludeNamespaces, ", "))
	default:
		parts = append(parts, "every namespace and the cluster-scoped types")
	}
	if len(f.ExcludeNamespaces) > 0 {
		parts = append(parts, "except namespaces "+strings.Join(f.ExcludeNamespaces, ", "))
	}
	if len(f.IncludeResources) > 0 {
		parts = append(parts, "types "+strings.Join(f.IncludeResources, ", "))
	}
	if len(f.ExcludeResources) > 0 {
		parts = append(parts, "except types "+strings.Join(f.ExcludeResources, ", "))
	}
	if f.Selector != nil {
		parts = append(parts, "selector "+f.Selector.String())
	}
	parts = append(parts, fmt.Sprintf("%d captured types", len(s.Types)))
	return strings.Join(parts, "; ")
}
