package restore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
)

// kustomizeRevision is a small revision: a Deployment that reads a
// ConfigMap, a Service, and a cluster-scoped custom resource kustomize
// knows nothing of. Its values are the kind YAML readers disagree on.
const kustomizeRevision = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        envFrom: [{configMapRef: {name: settings}}]
        resources: {requests: {cpu: 100m}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {enabled: "yes", mode: "0777", big: "9007199254740993", empty: ""}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: big}
spec: {size: 9007199254740993}
`

// revisionObjects parses documents into objects with the identity and
// path a revision gives them; resources names each document's resource.
func revisionObjects(t *testing.T, docs string, resources ...string) []Object {
	t.Helper()
	var out []Object
	for i, doc := range strings.Split(docs, "\n---\n") {
		obj, err := canonical.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		id := canonical.ID{Group: obj.GroupVersionKind().Group, Resource: resources[i], Namespace: obj.GetNamespace(), Name: obj.GetName()}
		out = append(out, Object{ID: id, Path: canonical.PathOf(id), Obj: obj})
	}
	return out
}

func kustomizeInput(t *testing.T) []Object {
	t.Helper()
	return revisionObjects(t, kustomizeRevision, "deployments", "configmaps", "services", "widgets")
}

// served is what a target serves; it counts the times it was asked.
type served struct {
	types []canonical.Type
	err   error
	calls int
}

func (s *served) Served(context.Context) ([]canonical.Type, string, error) {
	s.calls++
	return s.types, "v1.37.2", s.err
}

var (
	pdbType  = canonical.Type{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true}
	crdsType = canonical.Type{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Kind: "CustomResourceDefinition"}
)

// byPath indexes objects by path, as plain maps, for cmp.
func byPath(objs []Object) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		if o.Path != canonical.PathOf(o.ID) {
			panic("path " + o.Path + " is not the path of " + o.ID.String())
		}
		out[o.Path] = o.Obj.Object
	}
	return out
}

const (
	deployPath  = "namespaces/shop/deployments.apps/web.yaml"
	configPath  = "namespaces/shop/configmaps/settings.yaml"
	servicePath = "namespaces/shop/services/web.yaml"
	widgetPath  = "cluster/widgets.example.com/big.yaml"
)

func TestKustomizeChangesTheRevision(t *testing.T) {
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		// edit makes the expected result from the revision's objects,
		// by path.
		edit func(m map[string]map[string]any)
		// calls is how many times the target is asked what it serves.
		calls int
	}{
		{
			name:  "an empty kustomization gives the revision back as it was",
			files: fstest.MapFS{"kustomization.yaml": {Data: []byte("")}},
			edit:  func(map[string]map[string]any) {},
		},
		{
			name:  "images changes a container's image",
			files: fstest.MapFS{"kustomization.yaml": {Data: []byte(`images: [{name: nginx, newTag: "1.28"}]`)}},
			edit: func(m map[string]map[string]any) {
				container(m)["image"] = "nginx:1.28"
			},
		},
		{
			name:  "labels adds a label to every object",
			files: fstest.MapFS{"kustomization.yaml": {Data: []byte(`labels: [{pairs: {team: blue}}]`)}},
			edit: func(m map[string]map[string]any) {
				for _, obj := range m {
					meta := obj["metadata"].(map[string]any)
					labels, _ := meta["labels"].(map[string]any)
					if labels == nil {
						labels = map[string]any{}
						meta["labels"] = labels
					}
					labels["team"] = "blue"
				}
			},
		},
		{
			name:  "replicas scales a Deployment",
			files: fstest.MapFS{"Kustomization": {Data: []byte(`replicas: [{name: web, count: 3}]`)}},
			edit: func(m map[string]map[string]any) {
				m[deployPath]["spec"].(map[string]any)["replicas"] = int64(3)
			},
		},
		{
			name: "a strategic-merge patch in a subfolder adds an environment variable",
			files: fstest.MapFS{
				"kustomization.yml": {Data: []byte("patches:\n- path: patches/web.yaml\n")},
				"patches/web.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, env: [{name: REGION, value: eu}]}]
`)},
				".git/config": {Data: []byte("not yaml: [")},
			},
			edit: func(m map[string]map[string]any) {
				container(m)["env"] = []any{map[string]any{"name": "REGION", "value": "eu"}}
			},
		},
		{
			name:  "namePrefix renames every object, its path and the references to it",
			files: fstest.MapFS{"kustomization.yaml": {Data: []byte(`namePrefix: staging-`)}},
			edit: func(m map[string]map[string]any) {
				container(m)["envFrom"] = []any{map[string]any{"configMapRef": map[string]any{"name": "staging-settings"}}}
				for _, p := range []string{deployPath, configPath, servicePath, widgetPath} {
					obj := m[p]
					delete(m, p)
					obj["metadata"].(map[string]any)["name"] = "staging-" + obj["metadata"].(map[string]any)["name"].(string)
					dir, file := filepath.Split(p)
					m[dir+"staging-"+file] = obj
				}
			},
		},
		{
			name: "an overlay adds a ConfigMap, a kind the revision holds, without asking the target",
			files: fstest.MapFS{
				"kustomization.yaml": {Data: []byte("resources: [extra.yaml]\n")},
				"extra.yaml":         {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\ndata: {a: b}\n")},
			},
			edit: func(m map[string]map[string]any) {
				m["namespaces/shop/configmaps/extra.yaml"] = map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "extra", "namespace": "shop"}, "data": map[string]any{"a": "b"}}
			},
		},
		{
			name: "an overlay adds a kind only the target serves",
			files: fstest.MapFS{
				"kustomization.yaml": {Data: []byte("resources: [pdb.yaml]\n")},
				"pdb.yaml":           {Data: []byte("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\nspec: {maxUnavailable: 1}\n")},
			},
			edit: func(m map[string]map[string]any) {
				m["namespaces/shop/poddisruptionbudgets.policy/web.yaml"] = map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"maxUnavailable": int64(1)}}
			},
			calls: 1,
		},
		{
			name: "an overlay adds a custom resource with its definition",
			files: fstest.MapFS{
				"kustomization.yaml": {Data: []byte("resources: [crd.yaml, gadget.yaml]\n")},
				"crd.yaml": {Data: []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`)},
				"gadget.yaml": {Data: []byte("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: shop}\n")},
			},
			edit: func(m map[string]map[string]any) {
				crd, err := canonical.Parse([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`))
				if err != nil {
					panic(err)
				}
				m["cluster/customresourcedefinitions.apiextensions.k8s.io/gadgets.example.com.yaml"] = crd.Object
				m["namespaces/shop/gadgets.example.com/g.yaml"] = map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": map[string]any{"name": "g", "namespace": "shop"}}
			},
			calls: 1, // for the CustomResourceDefinition, not for the Gadget
		},
		{
			name:  "namespace moves namespaced objects, and a cluster-scoped kind kustomize does not know keeps none",
			files: fstest.MapFS{"kustomization.yaml": {Data: []byte("namespace: other\n")}},
			edit: func(m map[string]map[string]any) {
				for _, p := range []string{deployPath, configPath, servicePath} {
					obj := m[p]
					delete(m, p)
					obj["metadata"].(map[string]any)["namespace"] = "other"
					m[strings.Replace(p, "/shop/", "/other/", 1)] = obj
				}
			},
		},
		{
			name: "a folder that holds a file named as the revision's file gets another",
			files: fstest.MapFS{
				"kustomization.yaml":     {Data: []byte("resources: [kubesnap-revision.yaml]\n")},
				"kubesnap-revision.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine, namespace: shop}\n")},
			},
			edit: func(m map[string]map[string]any) {
				m["namespaces/shop/configmaps/mine.yaml"] = map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "mine", "namespace": "shop"}}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := kustomizeInput(t)
			want := byPath(kustomizeInput(t))
			c.edit(want)
			d := &served{types: []canonical.Type{pdbType, crdsType}}
			got, err := Kustomize(t.Context(), c.files, in, d)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, byPath(got)); diff != "" {
				t.Errorf("kustomized objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(byPath(kustomizeInput(t)), byPath(in)); diff != "" {
				t.Errorf("Kustomize changed the revision's objects (-want +got):\n%s", diff)
			}
			if d.calls != c.calls {
				t.Errorf("the target was asked %d times what it serves, want %d", d.calls, c.calls)
			}
		})
	}
}

// container is the Deployment's only container in m.
func container(m map[string]map[string]any) map[string]any {
	spec := m[deployPath]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	return spec["containers"].([]any)[0].(map[string]any)
}

func TestKustomizeKeepsCanonicalBytes(t *testing.T) {
	in := kustomizeInput(t)
	got, err := Kustomize(t.Context(), fstest.MapFS{"kustomization.yaml": {Data: []byte("")}}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, o := range in {
		data, err := canonical.Marshal(o.Obj)
		if err != nil {
			t.Fatal(err)
		}
		want[o.Path] = string(data)
	}
	have := map[string]string{}
	for _, o := range got {
		data, err := canonical.Marshal(o.Obj)
		if err != nil {
			t.Fatal(err)
		}
		have[o.Path] = string(data)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("an empty kustomization changed the canonical bytes (-want +got):\n%s", diff)
	}
}

func TestKustomizeOfNothingIsNothing(t *testing.T) {
	// A kustomization that adds objects must not make a restore out of
	// an empty scope (--prune would empty it): MakePlan stops it.
	dir := fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")}, "cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n")}}
	got, err := Kustomize(t.Context(), dir, nil, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Kustomize of no objects = %v, %v; want none", got, err)
	}
}

func TestKustomizeFailures(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kustomization.yaml")
	if err := os.WriteFile(file, []byte("images: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dir  fs.FS
		d    Discovery
		want string
	}{
		{name: "a folder that does not exist", dir: os.DirFS(filepath.Join(dir, "nope")), want: "no such folder"},
		{name: "a file, not a folder", dir: os.DirFS(file), want: "not a folder"},
		{name: "a folder without a kustomization", dir: fstest.MapFS{"patch.yaml": {Data: []byte("a: b")}}, want: "no kustomization.yaml, kustomization.yml, Kustomization in the folder"},
		{name: "a folder with two kustomizations", dir: fstest.MapFS{"kustomization.yaml": {}, "Kustomization": {}}, want: "the folder holds kustomization.yaml and Kustomization: keep one"},
		{name: "a kustomization with a field kustomize does not know", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("imagez: []\n")}}, want: `kustomization.yaml: invalid Kustomization: json: unknown field "imagez"`},
		{name: "a kustomization that is not YAML", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("images: [\n")}}, want: "kustomization.yaml: invalid Kustomization"},
		{name: "a base outside the folder", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [../base]\n")}}, want: "kustomize: accumulating resources: accumulation err='accumulating resources from '../base': '/base' doesn't exist'"},
		{name: "a patch whose target the revision does not hold", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("patches:\n- patch: '{\"kind\": \"Deployment\", \"apiVersion\": \"apps/v1\", \"metadata\": {\"name\": \"nope\", \"namespace\": \"shop\"}}'\n")}}, want: `kustomize: no resource matches strategic merge patch "Deployment.v1.apps/nope.shop"`},
		{name: "a kind neither the revision nor the target knows", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [g.yaml]\n")}, "g.yaml": {Data: []byte("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: shop}\n")}}, d: &served{types: []canonical.Type{pdbType}}, want: "kustomize built a Gadget (example.com/v1), a kind neither the revision nor the target knows: install its CustomResourceDefinition first, or add it to the kustomization"},
		{name: "a kind the revision does not hold, and no target to ask", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [pdb.yaml]\n")}, "pdb.yaml": {Data: []byte("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\n")}}, want: "kustomize built a PodDisruptionBudget (policy/v1), a kind neither the revision nor the target knows"},
		{name: "a target that cannot say what it serves", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [pdb.yaml]\n")}, "pdb.yaml": {Data: []byte("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\n")}}, d: &served{err: errors.New("connection refused")}, want: "find the resource of policy/v1 PodDisruptionBudget: connection refused"},
		{name: "a namespaced object without a namespace", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")}, "cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\n")}}, want: "kustomize built ConfigMap loose without a namespace: set namespace: in the kustomization or in the object"},
		{name: "one object in two API versions", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte("resources: [hpa.yaml]\n")}, "hpa.yaml": {Data: []byte(`apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
`)}}, d: &served{types: []canonical.Type{{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true}}},
			want: "kustomize built horizontalpodautoscalers.autoscaling/shop/web twice"},
		{name: "a kustomization that removes every object", dir: fstest.MapFS{"kustomization.yaml": {Data: []byte(`patches:
- target: {name: ".*"}
  patch: |
    $patch: delete
    kind: any
    metadata: {name: any}
`)}}, want: "the kustomization builds no objects"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Kustomize(t.Context(), c.dir, kustomizeInput(t), c.d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Kustomize = %v, want an error with %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is more than one line: %q", err)
			}
		})
	}
}
