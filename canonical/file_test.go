package canonical

import (
	"strings"
	"testing"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n"

var configMapID = ID{Resource: "configmaps", Namespace: "shop", Name: "a"}

// laughs is the billion laughs attack: nine levels of nine aliases, a
// billion strings once expanded.
func laughs() string {
	var b strings.Builder
	b.WriteString(configMap + "data:\n  l0: &l0 lol\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("  l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 9 {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestReadObjectRefusesHostileFiles(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"a second document", configMap + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: shop}\n", "more than one YAML document (a second starts at line 4)"},
		{"a second document after an explicit first", "---\n" + configMap + "---\n" + configMap, "more than one YAML document"},
		{"a second document after a document end", configMap + "...\n---\n" + configMap, "more than one YAML document"},
		{"an alias bomb", laughs(), "excessive aliasing"},
		{"nesting 100,000 deep", configMap + "data: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n", "exceeded max depth"},
		{"a 50 MiB file", configMap + "data: {big: " + strings.Repeat("z", 50<<20) + "}\n", "50.0 MiB, larger than any object the API server stores"},
		{"a file just over the limit", configMap + "data: {big: " + strings.Repeat("z", MaxFileSize) + "}\n", "the limit is 8 MiB"},
		{"another object than the path names", strings.Replace(configMap, "name: a", "name: b", 1), "holds ConfigMap shop/b, not the object its path names"},
		{"another group than the path names", strings.Replace(configMap, "v1", "apps/v1", 1), `not of the path's group ""`},
		{"no kind", strings.Replace(configMap, "kind: ConfigMap\n", "", 1), "not a Kubernetes object"},
		{"no apiVersion", strings.Replace(configMap, "apiVersion: v1\n", "", 1), "no kind or apiVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadObject(configMapID, []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ReadObject = %v, want one line saying %q", err, tt.want)
			}
			if _, err := Parse([]byte(tt.data)); err == nil && strings.Contains(tt.name, "document") {
				t.Error("Parse takes a file of two documents")
			}
		})
	}
}

func TestReadObjectTakesOneDocument(t *testing.T) {
	for name, data := range map[string]string{
		"a plain object":                configMap,
		"an explicit document start":    "---\n" + configMap,
		"a trailing separator":          configMap + "---\n",
		"a trailing separator, comment": configMap + "--- # end\n# nothing more\n",
		"a document end marker":         configMap + "...\n",
		"a block scalar holding ---":    configMap + "data:\n  script: |\n    ---\n    echo\n",
		"an inline document start":      "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: shop}}\n",
		"a file of exactly the limit":   configMap + "data: {big: " + strings.Repeat("z", MaxFileSize-len(configMap)-len("data: {big: }\n")) + "}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ReadObject(configMapID, []byte(data)); err != nil {
				t.Errorf("ReadObject = %v", err)
			}
		})
	}
}

func TestObjectFilesNamesEveryPathKubesnapWouldNotWrite(t *testing.T) {
	ids, bad := ObjectFiles([]string{
		"README.md",
		".kubesnap/coverage.yaml",
		"namespaces/shop/configmaps/a.yaml",
		"namespaces/shop/configmaps/UPPER.yaml",
		"namespaces/shop/configmaps/bad%ZZ.yaml",
		"namespaces/shop/configmaps/.yml",
		"namespaces/shop/configmaps/a.yml",
		"cluster/namespaces/%2e%2e.yaml",
		"namespaces/%2E%2E/configmaps/x%0A.yaml",
	})
	if len(ids) != 2 || ids["namespaces/shop/configmaps/a.yaml"] != configMapID {
		t.Errorf("object files = %v, want a.yaml and the escaped '..' namespace", ids)
	}
	if got := ids["namespaces/%2E%2E/configmaps/x%0A.yaml"]; got.Namespace != ".." || got.Name != "x\n" {
		t.Errorf("escaped '..' and newline = %+v", got)
	}
	// A name with control characters is refused, and shown quoted: it
	// cannot reach a terminal raw.
	if _, ctl := ObjectFiles([]string{"namespaces/a/configmaps/\x1b[2Jx\n.yaml"}); len(ctl) != 1 || strings.ContainsAny(ctl[0], "\x1b\n") || !strings.Contains(ctl[0], `\x1b[2Jx\n.yaml"`) {
		t.Errorf("a name with control characters = %q", ctl)
	}
	want := []string{"UPPER.yaml", "bad%ZZ.yaml", "/.yml", "/a.yml", "%2e%2e.yaml"}
	if len(bad) != len(want) {
		t.Fatalf("bad = %q, want one line each for %q", bad, want)
	}
	for i, w := range want {
		if !strings.Contains(bad[i], w) || !strings.HasSuffix(bad[i], "rename or remove the file") {
			t.Errorf("bad[%d] = %q, want it to name %q and say what to do", i, bad[i], w)
		}
	}
}
