package canonical

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

func mustRules(t testing.TB, src string) Rules {
	t.Helper()
	rs, err := ParseRules([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func object(t testing.TB, src string) *unstructured.Unstructured {
	t.Helper()
	obj, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestRulesMatch(t *testing.T) {
	deploy := `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web-1, namespace: shop, labels: {app: web}}, spec: {replicas: 3}}`
	service := `{apiVersion: v1, kind: Service, metadata: {name: web-1, namespace: shop}, spec: {replicas: 3}}`
	knative := `{apiVersion: serving.knative.dev/v1, kind: Service, metadata: {name: web-1, namespace: shop}, spec: {replicas: 3}}`
	role := `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: web-1}, spec: {replicas: 3}}`
	tests := []struct {
		name  string
		match string
		obj   string
		want  bool
	}{
		{"no match selects every object", ``, role, true},
		{"group and kind select a Deployment", `{group: apps, kind: Deployment}`, deploy, true},
		{"a kind without group matches it in any group", `{kind: Service}`, knative, true},
		{`group "" is the core group only`, `{group: "", kind: Service}`, knative, false},
		{`group "" selects a core Service`, `{group: "", kind: Service}`, service, true},
		{"group core is the core group", `{group: core, kind: Service}`, service, true},
		{`group "*" is any group`, `{group: "*", kind: Service}`, knative, true},
		{"a group glob", `{group: "*.knative.dev"}`, knative, true},
		{"a kind glob", `{kind: "Cluster*"}`, role, true},
		{"namespaces never match cluster-scoped objects", `{namespaces: ["*"]}`, role, false},
		{"a namespace glob", `{namespaces: ["sh*"]}`, deploy, true},
		{"another namespace", `{namespaces: [other]}`, deploy, false},
		{"a name glob", `{names: ["web-?"]}`, deploy, true},
		{"a name that does not match", `{names: [db]}`, deploy, false},
		{"a selector that matches", `{labelSelector: "app in (web, api)"}`, deploy, true},
		{"a selector that does not", `{labelSelector: "app!=web"}`, deploy, false},
		{"a selector on an object without labels", `{labelSelector: "!app"}`, role, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "- ignoreFields: [spec.replicas]\n"
			if tt.match != "" {
				src += "  match: " + tt.match + "\n"
			}
			obj := object(t, tt.obj)
			applied := mustRules(t, src).Apply(obj)
			_, kept, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
			if got := len(applied) == 1; got != tt.want || kept == tt.want {
				t.Errorf("matched = %v (replicas kept: %v), want %v", got, kept, tt.want)
			}
		})
	}
}

func TestRulesApplyPaths(t *testing.T) {
	obj := `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}},
	  data: {"0": zero, keep: k},
	  list: [{a: 1, b: 2}, {a: 3}, {c: 4}],
	  empty: {},
	  nested: {deep: {only: 1}, other: 2}}`
	tests := []struct {
		name   string
		paths  string
		want   string
		paths2 []string // the concrete paths removed
	}{
		{"a pointer token is a key on a map", `["/data/0"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}}, data: {keep: k}, list: [{a: 1, b: 2}, {a: 3}, {c: 4}], empty: {}, nested: {deep: {only: 1}, other: 2}}`,
			[]string{"data.0"}},
		{"a pointer token is an index on a list", `["/list/1/a"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}}, data: {"0": zero, keep: k}, list: [{a: 1, b: 2}, {c: 4}], empty: {}, nested: {deep: {only: 1}, other: 2}}`,
			[]string{"list[1].a"}},
		{"a simple key does not index a list", `["list.0"]`, obj, nil},
		{"[*] removes from every item; items left empty go", `["list[*].a"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}}, data: {"0": zero, keep: k}, list: [{b: 2}, {c: 4}], empty: {}, nested: {deep: {only: 1}, other: 2}}`,
			[]string{"list[0].a", "list[1].a"}},
		{"maps left empty go, up to the first that is not", `["nested.deep.only"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}}, data: {"0": zero, keep: k}, list: [{a: 1, b: 2}, {a: 3}, {c: 4}], empty: {}, nested: {other: 2}}`,
			[]string{"nested.deep.only"}},
		{"an index past the end removes nothing", `["list[3]"]`, obj, nil},
		{"[*] at the end removes every map value", `["data[*]"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {x: "1"}}, list: [{a: 1, b: 2}, {a: 3}, {c: 4}], empty: {}, nested: {deep: {only: 1}, other: 2}}`,
			[]string{"data.0", "data.keep"}},
		{"an empty map nothing was removed from stays", `["empty.x"]`, obj, nil},
		{"the metadata annotations map goes when emptied, metadata never", `["metadata.annotations.x"]`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {"0": zero, keep: k}, list: [{a: 1, b: 2}, {a: 3}, {c: 4}], empty: {}, nested: {deep: {only: 1}, other: 2}}`,
			[]string{"metadata.annotations.x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := object(t, obj)
			applied := mustRules(t, "- ignoreFields: "+tt.paths+"\n").Apply(o)
			if diff := cmp.Diff(object(t, tt.want).Object, o.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			var got []string
			for _, r := range applied[0].Removed {
				got = append(got, r.FieldPath.String())
			}
			if diff := cmp.Diff(tt.paths2, got); diff != "" {
				t.Errorf("removed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRulesNeverRemoveIdentity(t *testing.T) {
	// Rules built in Go are not checked: Apply still skips the paths that
	// DecodeRules refuses (they could match the identity), and applies
	// the others.
	rs := Rules{{IgnoreFields: []FieldPath{
		simple(every()), simple(keyStep("metadata"), every()), pointer(tok("kind")), simple(keyStep("data")),
	}}}
	obj := object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns, labels: {x: z}}, data: {a: b}}`)
	rs.Apply(obj)
	want := object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns, labels: {x: z}}}`)
	if diff := cmp.Diff(want.Object, obj.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRulesEmptyDoNothing(t *testing.T) {
	obj := object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {a: b}}`)
	before := obj.DeepCopy()
	if applied := Rules(nil).Apply(obj); applied != nil {
		t.Errorf("Apply = %v, want nil", applied)
	}
	if diff := cmp.Diff(before.Object, obj.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRulesMarshalRoundTrip: what MarshalYAML writes (what `kubesnap rules`
// would print) decodes to the same rules.
func TestRulesMarshalRoundTrip(t *testing.T) {
	src := `
- name: hpa
  match: {group: apps, kind: Deployment, namespaces: [shop, "team-*"], names: ["web-*"], labelSelector: "app=web,tier notin (db)"}
  ignoreFields: [spec.replicas, '/spec/template/metadata/annotations/a~1b', 'metadata.annotations["no"]', 'x["y"]']
- match: {group: ""}
  ignoreManagers: ["kube-*", "no"]
`
	rs := mustRules(t, src)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(rs); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	back, err := ParseRules(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if diff := cmp.Diff(rs, back, cmp.Comparer(func(a, b Match) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, out)
	}
	want := `- name: hpa
  match:
    group: apps
    kind: Deployment
    namespaces:
      - shop
      - team-*
    names:
      - web-*
    labelSelector: app=web,tier notin (db)
  ignoreFields:
    - spec.replicas
    - /spec/template/metadata/annotations/a~1b
    - metadata.annotations.no
    - x.y
- match:
    group: core
  ignoreManagers:
    - kube-*
    - "no"
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRulesFromJSON: a loader that reads YAML through JSON (sigs.k8s.io/yaml)
// gets the same rules, and the same errors without lines.
func TestRulesFromJSON(t *testing.T) {
	var cfg struct {
		Normalize Rules `json:"normalize"`
	}
	err := sigsyaml.UnmarshalStrict([]byte("normalize:\n- {match: {kind: Deployment}, ignoreFields: [spec.replicas]}\n"), &cfg)
	if err != nil || len(cfg.Normalize) != 1 || cfg.Normalize[0].IgnoreFields[0].String() != "spec.replicas" {
		t.Fatalf("got %+v, %v", cfg.Normalize, err)
	}
	err = sigsyaml.UnmarshalStrict([]byte("normalize:\n- {ignoreFields: [spec..replicas]}\n- {ignoreManagers: [\"\"]}\n"), &cfg)
	var re RuleErrors
	if !errors.As(err, &re) {
		t.Fatalf("want RuleErrors, got %v", err)
	}
	want := `normalize[0].ignoreFields[0] "spec..replicas": empty key at offset 5; use a.b, a["b.c"], a[*], a[0] or a JSON pointer /a/b
normalize[1].ignoreManagers[0] "": empty manager; use a field manager name (kube-controller-manager) or a glob (hpa-*)`
	if diff := cmp.Diff(want, re.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseRulesEmpty(t *testing.T) {
	for _, src := range []string{"", "~", "[]", "# nothing\n"} {
		rs, err := ParseRules([]byte(src))
		if err != nil || len(rs) != 0 {
			t.Errorf("ParseRules(%q) = %v, %v; want no rules", src, rs, err)
		}
	}
	if _, err := ParseRules([]byte("{a: 1}")); err == nil || err.Error() != "line 1: normalize: want a list of rules, got a mapping" {
		t.Errorf("a mapping: %v", err)
	}
}

// FuzzNormalizeWithRulesIdempotent: with rules loaded, Normalize is still
// idempotent: rules remove nothing more from their own output.
func FuzzNormalizeWithRulesIdempotent(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*/live.yaml")
	more, _ := filepath.Glob("testdata/*/live.yaml")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	rules := mustRules(f, `
- ignoreFields: [spec.replicas, 'metadata.annotations["sidecar.istio.io/status"]', 'webhooks[*].clientConfig.caBundle', '/data/0', 'spec.template.spec.containers[1]', 'x[*][*].y']
- match: {kind: Deployment}
  ignoreManagers: [mesh-operator, "kube-*"]
- ignoreManagers: [cainjector, "kubectl-*"]
`)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Parse(data)
		if err != nil {
			return
		}
		Normalize(obj, Facts{Rules: rules})
		once, err := Marshal(obj)
		if err != nil {
			return
		}
		again, err := Parse(once)
		if err != nil {
			t.Fatalf("canonical YAML does not parse: %v\n%s", err, once)
		}
		Normalize(again, Facts{Rules: rules})
		twice, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("Normalize with rules is not idempotent:\n%s\n---\n%s", once, twice)
		}
	})
}
