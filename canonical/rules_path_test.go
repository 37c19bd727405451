package canonical

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func keyStep(k string) step       { return step{kind: stepKey, key: k} }
func tok(k string) step           { return step{kind: stepToken, key: k} }
func indexStep(i int) step        { return step{kind: stepIndex, index: i} }
func every() step                 { return step{kind: stepAll} }
func simple(s ...step) FieldPath  { return FieldPath{steps: s} }
func pointer(s ...step) FieldPath { return FieldPath{steps: s, pointer: true} }

func TestParseFieldPath(t *testing.T) {
	tests := []struct {
		in     string
		want   FieldPath
		string string // String(), when it differs from in
	}{
		{in: "spec.replicas", want: simple(keyStep("spec"), keyStep("replicas"))},
		{in: `metadata.annotations["sidecar.istio.io/status"]`, want: simple(keyStep("metadata"), keyStep("annotations"), keyStep("sidecar.istio.io/status"))},
		{in: `metadata.labels['app.kubernetes.io/name']`, want: simple(keyStep("metadata"), keyStep("labels"), keyStep("app.kubernetes.io/name")),
			string: `metadata.labels["app.kubernetes.io/name"]`},
		{in: "webhooks[*].clientConfig.caBundle", want: simple(keyStep("webhooks"), every(), keyStep("clientConfig"), keyStep("caBundle"))},
		{in: "spec.template.spec.containers[0].image", want: simple(keyStep("spec"), keyStep("template"), keyStep("spec"), keyStep("containers"), indexStep(0), keyStep("image"))},
		{in: "data[*]", want: simple(keyStep("data"), every())},
		{in: `["a.b"].c`, want: simple(keyStep("a.b"), keyStep("c"))},
		{in: `a[""]`, want: simple(keyStep("a"), keyStep(""))},
		{in: `a["q\"uote\\d"]`, want: simple(keyStep("a"), keyStep(`q"uote\d`))},
		{in: `a['it\'s']`, want: simple(keyStep("a"), keyStep("it's")), string: `a["it's"]`},
		{in: "a[007]", want: simple(keyStep("a"), indexStep(7)), string: "a[7]"},
		{in: "x-kubernetes_1.y", want: simple(keyStep("x-kubernetes_1"), keyStep("y"))},
		{in: "/spec/replicas", want: pointer(tok("spec"), tok("replicas"))},
		{in: "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt",
			want: pointer(tok("spec"), tok("template"), tok("metadata"), tok("annotations"), tok("kubectl.kubernetes.io/restartedAt"))},
		{in: "/a~0b/0/", want: pointer(tok("a~b"), tok("0"), tok(""))},
		{in: "/", want: pointer(tok(""))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFieldPath(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			want := tt.in
			if tt.string != "" {
				want = tt.string
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %s, want %s", s, want)
			}
		})
	}
}

func TestParseFieldPathErrors(t *testing.T) {
	const hint = `; use a.b, a["b.c"], a[*], a[0] or a JSON pointer /a/b`
	tests := []struct{ in, want string }{
		{"", "empty path" + hint},
		{"spec..replicas", "empty key at offset 5" + hint},
		{".spec", "empty key at offset 0" + hint},
		{"spec.", "empty key at offset 5" + hint},
		{"spec.*.x", "unexpected * at offset 5; write [*] for every item" + hint},
		{"metadata.annotations.a/b", `unexpected '/' at offset 22; quote keys with characters other than letters, digits, - and _: a["b/c"]`},
		{"spec replicas", `unexpected ' ' at offset 4; quote keys with characters other than letters, digits, - and _: a["b/c"]`},
		{"a]", "unexpected ] at offset 1" + hint},
		{"a[", "unclosed [ at offset 1" + hint},
		{"a[*", "unclosed [* at offset 1" + hint},
		{"a[12", "unclosed index at offset 1" + hint},
		{"a[-1]", "negative index at offset 2" + hint},
		{"a[x]", `unexpected 'x' at offset 2, want *, an index or a quoted key` + hint},
		{`a["b`, "unterminated quoted key at offset 2" + hint},
		{`a["b"`, "want ] at offset 5 after the quoted key" + hint},
		{`a["b\n"]`, `unknown escape at offset 4; in a quoted key only \" and \\ escape`},
		{"a[0]b", `unexpected 'b' at offset 4, want . or [` + hint},
		{"a[99999999999999999999]", "index 99999999999999999999 at offset 2 is too large"},
		{"/a~2b", `bad escape "~2" at offset 2; in a JSON pointer write ~0 for ~ and ~1 for /`},
		{"/a/b~", `bad escape "~" at offset 4; in a JSON pointer write ~0 for ~ and ~1 for /`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseFieldPath(tt.in)
			if err == nil {
				t.Fatalf("ParseFieldPath(%q) succeeded", tt.in)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// FuzzParseFieldPath: parsing never panics, and what String writes parses
// back to the same path.
func FuzzParseFieldPath(f *testing.F) {
	for _, s := range []string{
		"spec.replicas", `metadata.annotations["a.b/c"]`, "webhooks[*].clientConfig.caBundle",
		"a[0].b", "/spec/replicas", "/a~0~1b/", `a['x\'y']`, `a["\\\""]`, "spec..x", "a[", `["é"]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseFieldPath(s)
		if err != nil {
			return
		}
		if len(p.steps) == 0 {
			t.Fatalf("%q parsed to an empty path", s)
		}
		back, err := ParseFieldPath(p.String())
		if err != nil {
			t.Fatalf("String() of %q is %q, which does not parse: %v", s, p.String(), err)
		}
		if !back.Equal(p) {
			t.Fatalf("%q → %q → %#v, want %#v", s, p.String(), back, p)
		}
	})
}
