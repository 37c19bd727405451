package restore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// files is a revision held in memory: path → content.
type files map[string]string

func (f files) Files(context.Context) (map[string]string, error) {
	out := map[string]string{}
	for p := range f {
		out[p] = "id-" + p
	}
	return out, nil
}

func (f files) Read(_ context.Context, p string) ([]byte, error) { return []byte(f[p]), nil }

func TestPhasesFollowTheRestoreOrder(t *testing.T) {
	order := []canonical.ID{
		{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
		{Resource: "namespaces"},
		{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Resource: "serviceaccounts"},
		{Resource: "persistentvolumes"},
		{Resource: "persistentvolumeclaims"},
		{Resource: "services"},
		{Group: "apps", Resource: "deployments"},
		{Group: "networking.k8s.io", Resource: "ingresses"},
		{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"},
	}
	for i := 1; i < len(order); i++ {
		if PhaseOf(order[i-1]) >= PhaseOf(order[i]) {
			t.Errorf("%s (phase %d) is not before %s (phase %d)", order[i-1].ResourceDir(), PhaseOf(order[i-1]), order[i].ResourceDir(), PhaseOf(order[i]))
		}
	}
	if PhaseOf(canonical.ID{Group: "example.com", Resource: "widgets"}) != PhaseRest {
		t.Error("a custom resource is not in the last-but-one phase")
	}
}

func TestLoadNamesEveryBadFile(t *testing.T) {
	rev := files{
		"cluster/namespaces/shop.yaml":                  "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
		"namespaces/shop/configmaps/a.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n",
		"namespaces/shop/configmaps/not-yaml.yaml":      "{{ nope\n",
		"namespaces/shop/configmaps/no-kind.yaml":       "apiVersion: v1\nmetadata: {name: no-kind, namespace: shop}\n",
		"namespaces/shop/configmaps/elsewhere.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}\n",
		"namespaces/shop/deployments.apps/wrong.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wrong, namespace: shop}\n",
		"namespaces/shop/secrets/leaky.yaml":            "kind: [Secret]\napiVersion: v1\nmetadata: {name: leaky, namespace: shop}\nstringData: {password: hunter2}\n",
		".kubesnap/coverage.yaml":                       "not an object\n",
		"README.md":                                     "# hello\n",
		"namespaces/other/configmaps/out-of-scope.yaml": "{{ broken but out of scope\n",
	}
	_, err := Load(t.Context(), rev, canonical.Filter{ExcludeNamespaces: []string{"other"}}, nil)
	var bad *BadFilesError
	if !errors.As(err, &bad) {
		t.Fatalf("Load = %v, want a BadFilesError", err)
	}
	var named []string
	for _, l := range bad.Lines {
		named = append(named, strings.SplitN(l, ":", 2)[0])
		if strings.Contains(l, "hunter2") {
			t.Errorf("an error line shows a Secret value: %s", l)
		}
	}
	want := []string{
		"namespaces/shop/configmaps/elsewhere.yaml",
		"namespaces/shop/configmaps/no-kind.yaml",
		"namespaces/shop/configmaps/not-yaml.yaml",
		"namespaces/shop/deployments.apps/wrong.yaml",
		"namespaces/shop/secrets/leaky.yaml",
	}
	if d := cmp.Diff(want, named); d != "" {
		t.Errorf("bad files named (-want +got):\n%s\n%s", d, err)
	}

	delete(rev, "namespaces/shop/configmaps/not-yaml.yaml")
	delete(rev, "namespaces/shop/configmaps/no-kind.yaml")
	delete(rev, "namespaces/shop/configmaps/elsewhere.yaml")
	delete(rev, "namespaces/shop/deployments.apps/wrong.yaml")
	delete(rev, "namespaces/shop/secrets/leaky.yaml")
	objs, err := Load(t.Context(), rev, canonical.Filter{ExcludeNamespaces: []string{"other"}}, nil)
	if err != nil || len(objs) != 2 {
		t.Fatalf("Load of good files = %d objects, %v; want 2", len(objs), err)
	}
}

func object(t *testing.T, yaml string) *unstructured.Unstructured {
	t.Helper()
	obj, err := canonical.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestNamespaceMapMovesObjectsAndSubjects(t *testing.T) {
	objs := []Object{
		{ID: canonical.ID{Resource: "namespaces", Name: "shop"}, Obj: object(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")},
		{ID: canonical.ID{Resource: "configmaps", Namespace: "shop", Name: "cfg"}, Obj: object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {url: 'http://api.shop.svc:80'}\n")},
		{ID: canonical.ID{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings", Name: "b"}, Obj: object(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: runner, namespace: shop}, {kind: ServiceAccount, name: x, namespace: kept}]\n")},
		{ID: canonical.ID{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "w"}, Obj: object(t, "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: w}\nwebhooks: [{name: w.example.com, clientConfig: {service: {name: hook, namespace: shop}}}]\n")},
	}
	out, notes := mapNamespaces(objs, map[string]string{"shop": "shop-copy"})
	var paths []string
	for _, o := range out {
		paths = append(paths, o.Path)
	}
	want := []string{"cluster/namespaces/shop-copy.yaml", "namespaces/shop-copy/configmaps/cfg.yaml", "cluster/clusterrolebindings.rbac.authorization.k8s.io/b.yaml", "cluster/validatingwebhookconfigurations.admissionregistration.k8s.io/w.yaml"}
	if d := cmp.Diff(want, paths); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	subjects, _, _ := unstructured.NestedSlice(out[2].Obj.Object, "subjects")
	if ns := subjects[0].(map[string]any)["namespace"]; ns != "shop-copy" {
		t.Errorf("subject namespace = %v, want shop-copy", ns)
	}
	if ns := subjects[1].(map[string]any)["namespace"]; ns != "kept" {
		t.Errorf("an unmapped subject namespace became %v", ns)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "service DNS name") || !strings.Contains(notes[1], "calls a service in namespace shop") {
		t.Errorf("notes = %q", notes)
	}
	if objs[1].Obj.GetNamespace() != "shop" {
		t.Error("mapNamespaces changed its input")
	}
}

func TestCRDTypeAndVersionWarning(t *testing.T) {
	crd := object(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, kind: Widget}
  versions: [{name: v1beta1, served: true, storage: false}, {name: v1, served: true, storage: true}]
`)
	got, ok := crdType(crd)
	want := canonical.Type{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespaced: true}
	if !ok || !cmp.Equal(got, want) {
		t.Errorf("crdType = %+v %v, want %+v", got, ok, want)
	}
	if w := versionWarning("v1.37.2", "v1.37.0"); w != "" {
		t.Errorf("same minor version warns: %s", w)
	}
	if w := versionWarning("v1.36.4", "v1.37.2"); !strings.Contains(w, "v1.36.4") {
		t.Errorf("another minor version: %q", w)
	}
}

func TestACloneNeverPrunesItsSource(t *testing.T) {
	f := mappedFilter(canonical.Filter{}, map[string]string{"shop": "shop-copy", "a": "b", "b": "c"})
	for ns, inScope := range map[string]bool{"shop": false, "shop-copy": true, "a": false, "b": true, "c": true, "other": true} {
		if f.Namespace(ns) != inScope {
			t.Errorf("namespace %s in the target's scope = %v, want %v", ns, f.Namespace(ns), inScope)
		}
	}
}
