package canonical

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// awkward are strings that yaml.v3 writes in every way it has: plain,
// quoted because they read as something else, single- and double-quoted,
// literal blocks with and without indentation indicators and chomping,
// and escapes.
var awkward = []string{
	"", " ", "a ", " a", "a", "ab-c.d_e/f", "nginx:1.25", "x:", "x: y", "x :y", "-a", "- a", "-", "--", "---", "...",
	"#a", "a #b", "a#b", "?a", "? a", ":a", "[a]", "a,b", "{a}", "&a", "*a", "!a", "|a", ">a", "'a", "\"a", "%a", "@a", "`a",
	"123", "-1", "+1", "0x1F", "0o17", "0b101", "017", "1_000", "12:30", "1:20:30", "1e3", "1.5", ".5", "1.", ".inf", "-.Inf", ".nan", "~",
	"null", "Null", "NULL", "true", "False", "yes", "No", "on", "OFF", "y", "n", "<<", "2024-01-01", "2024-01-01T00:00:00Z", "2001-12-14 21:59:43.10 -5",
	"a\n", "a\n\n", "\n", "\n\n", "\na", "\n a", " a\nb", "a\nb", "a \nb", "a\n b", "a\nb ", "a\n\nb", "a\n  \nb", "a\tb", "a\tb\nc", "\ta\nb",
	"a\r\nb", "a\rb", "é", "é\nx", "smile 😀", "a\u2028b", "a\u0085b", "\ufeffa", "a\x00b", "a\x7fb", "a\\b", "a\"b", "a'b", "it's\nok",
	strings.Repeat("long words ", 20), strings.Repeat("x", 129), strings.Repeat("line\n", 5) + "end",
	"line one\n    indented\n\ttabbed\nlast\n",
	"a b", "a  b", "a: b", "a :b", "a:b", "a# b", "a #", "a b ", "a:", "it's", "say \"hi\"", "x[0]", "a{b}", "a|b", "a>b", "a - b", "a -", "a ?", "a ? b",
	"a@b", "a=b", "a%b", "a!b", "a&b", "a*b", "a`b", "a\\b", "a,b c", "Image pull policy. One of Always, Never, IfNotPresent.", "y n", "no way", "true story",
}

// shapes puts v in every place a value can be, at two depths.
func shapes(v any) map[string]any {
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Thing",
		"value":      v,
		"list":       []any{v, "after", []any{v, v}, map[string]any{"k": v, "z": []any{v}}},
		"deep":       map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": v, "d": []any{}, "e": map[string]any{}}}}},
	}
}

func sameAsYAMLv3(t *testing.T, name string, obj map[string]any) {
	t.Helper()
	u := &unstructured.Unstructured{Object: obj}
	want, werr := marshalYAMLv3(u)
	got, gerr := Marshal(u)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%s: Marshal error %v, yaml.v3's %v", name, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: Marshal differs from yaml.v3:\n%s\n--- yaml.v3:\n%s", name, got, want)
	}
}

func TestEmitMatchesYAMLv3(t *testing.T) {
	for _, s := range awkward {
		sameAsYAMLv3(t, "value "+strconvQuote(s), shapes(s))
		sameAsYAMLv3(t, "key "+strconvQuote(s), map[string]any{"apiVersion": "v1", s: "v", "m": map[string]any{s: []any{s}}})
	}
	for _, v := range []any{nil, true, false, int64(0), int64(math.MinInt64), int64(math.MaxInt64), 7, int32(-3), 1.5, -0.25, 1e-7, 1e300, 3.0, math.Copysign(0, -1), 1e21, math.Inf(1), math.NaN(), struct{}{}} {
		sameAsYAMLv3(t, "scalar", shapes(v))
	}
	sameAsYAMLv3(t, "empty object", map[string]any{})
	sameAsYAMLv3(t, "nested lists", map[string]any{"a": []any{[]any{[]any{"x", map[string]any{"b": 1}}, "y"}, []any{}}})
}

func strconvQuote(s string) string {
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return strings.ReplaceAll(s, "\n", `\n`)
}

// Every golden object, before and after Normalize, and every manifest of
// the prometheus-operator fixtures (CRDs with long descriptions), is
// written as yaml.v3 writes it, and the goldens by emit itself.
func TestEmitMatchesYAMLv3OnRealObjects(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/live.yaml")
	fixtures, _ := filepath.Glob("../../shared/fixtures/prometheus-operator/*/*.yaml")
	if len(fixtures) == 0 {
		t.Log("../shared/fixtures is absent: its manifests are skipped")
	}
	for _, file := range append(files, fixtures...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			j, err := sigsyaml.YAMLToJSON(doc)
			if err != nil || bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
				continue
			}
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(j); err != nil {
				continue
			}
			name := file + "#" + strconv.Itoa(i)
			sameAsYAMLv3(t, name, obj.Object)
			Normalize(obj, Facts{})
			sameAsYAMLv3(t, name+" normalized", obj.Object)
			if strings.HasPrefix(file, "testdata/") {
				if _, ok := new(Encoder).emit(nil, obj.Object); !ok {
					t.Errorf("%s: left to yaml.v3", name)
				}
			}
		}
	}
}

func FuzzEmitMatchesYAMLv3(f *testing.F) {
	seed(f)
	for _, s := range awkward {
		data, err := json.Marshal(map[string]any{"kind": "X", "data": map[string]any{"v": s, s: []any{s}}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Parse(data)
		if err != nil {
			return
		}
		sameAsYAMLv3(t, "fuzzed", obj.Object)
	})
}

// BenchmarkMarshal writes a normalized Deployment with an Encoder kept
// across objects, as a snapshot or a watch does ("emit"), with a fresh one
// per object, as Marshal does ("emit-one-off"), and with yaml.v3's encoder.
func BenchmarkMarshal(b *testing.B) {
	data, err := os.ReadFile("testdata/deployment/live.yaml")
	if err != nil {
		b.Fatal(err)
	}
	obj, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	Normalize(obj, Facts{})
	var enc Encoder
	for name, marshal := range map[string]func(*unstructured.Unstructured) ([]byte, error){
		"emit": enc.Marshal, "emit-one-off": Marshal, "yaml.v3": marshalYAMLv3,
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := marshal(obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
