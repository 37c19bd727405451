package canonical

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParseCoverage(t *testing.T) {
	sel, err := ParseSelector("app=web,tier!=db")
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{IncludeNamespaces: []string{"shop"}, ExcludeResources: []string{"secrets"}, Selector: sel}
	doc := map[string]any{
		"apiVersion": "kubesnap.io/v1alpha1",
		"kind":       "Coverage",
		"captured":   []any{map[string]any{"resource": "configmaps"}, map[string]any{"resource": "deployments.apps"}},
		"scope":      ScopeFields(f),
	}
	data, err := Marshal(&unstructured.Unstructured{Object: doc})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseCoverage(data)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Recorded || s.Filter.Selector.String() != sel.String() {
		t.Fatalf("scope = %+v, want recorded with selector %s", s, sel)
	}
	s.Filter.Selector = nil
	if diff := cmp.Diff([]string{"shop"}, s.Filter.IncludeNamespaces); diff != "" {
		t.Errorf("includeNamespaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"secrets"}, s.Filter.ExcludeResources); diff != "" {
		t.Errorf("excludeResources (-want +got):\n%s", diff)
	}
	if !s.Captured(Type{Group: "apps", Resource: "deployments"}) || s.Captured(Type{Resource: "secrets"}) {
		t.Errorf("Captured: %v", s.Types)
	}

	// A report without a scope (an older kubesnap) records nothing.
	delete(doc, "scope")
	data, _ = Marshal(&unstructured.Unstructured{Object: doc})
	if s, err := ParseCoverage(data); err != nil || s.Recorded {
		t.Errorf("report without scope = %+v, %v; want not recorded", s, err)
	}
	for name, bad := range map[string]string{
		"not yaml":         "{{{",
		"another kind":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"scope not a map":  "apiVersion: kubesnap.io/v1alpha1\nkind: Coverage\nscope: [a]\n",
		"a bad selector":   "apiVersion: kubesnap.io/v1alpha1\nkind: Coverage\nscope: {selector: '=='}\n",
		"a non-name entry": "apiVersion: kubesnap.io/v1alpha1\nkind: Coverage\nscope: {includeNamespaces: [1]}\n",
	} {
		if _, err := ParseCoverage([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
