package canonical

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultRulesAreComplete keeps DefaultRules in step with the code that
// does the work: every dropped metadata field, noise annotation, ephemeral
// type and generated Job label is listed; every kind Normalize treats apart
// has a rule; every reason SkipObject and Capturable give appears; and
// every field is a path ignoreFields would take.
func TestDefaultRulesAreComplete(t *testing.T) {
	rules := DefaultRules()
	fields := map[string]bool{}
	types := map[string]bool{}
	var text strings.Builder
	names := map[string]bool{}
	for _, d := range rules {
		if d.Name == "" || names[d.Name] {
			t.Errorf("rule %q: names must be set and unique", d.Name)
		}
		names[d.Name] = true
		for _, f := range d.Fields {
			fields[f] = true
			if _, err := ParseFieldPath(f); err != nil {
				t.Errorf("rule %s: field %s: %v", d.Name, f, err)
			}
		}
		for _, ty := range d.Types {
			types[ty] = true
		}
		text.WriteString(d.String())
	}

	for _, k := range droppedMetadata {
		if !fields["metadata."+k] {
			t.Errorf("dropped metadata.%s is not in DefaultRules", k)
		}
	}
	for _, f := range metadataFields("annotations", noiseAnnotations) {
		if !fields[f] {
			t.Errorf("noise annotation %s is not in DefaultRules", f)
		}
	}
	for ty := range ephemeral {
		if !types[ty] {
			t.Errorf("ephemeral type %s is not in DefaultRules", ty)
		}
	}
	for _, l := range slices.Concat(jobUIDLabels, jobNameLabels) {
		if !fields[`spec.selector.matchLabels["`+l+`"]`] {
			t.Errorf("Job label %s is not in DefaultRules", l)
		}
	}

	all := text.String()
	for _, kind := range comparedStrings(t, "normalize.go", "Normalize", "kind") {
		named := false
		for _, d := range rules {
			named = named || d.Stage == StageNormalize && slices.Contains(strings.Fields(d.Match), kind)
		}
		if !named {
			t.Errorf("Normalize treats kind %s apart, but no rule's Match names it", kind)
		}
	}
	for _, reason := range returnedStrings(t, "skip.go", "SkipObject") {
		if !strings.Contains(all, reason) {
			t.Errorf("SkipObject's reason %q is not in DefaultRules", reason)
		}
	}
	for _, reason := range returnedStrings(t, "skip.go", "Capturable") {
		if !strings.Contains(all, reason) {
			t.Errorf("Capturable's reason %q is not in DefaultRules", reason)
		}
	}
	for _, verb := range verbPast {
		if !strings.Contains(all, verb) {
			t.Errorf("Capturable's verb %q is not in DefaultRules", verb)
		}
	}
}

func parseFunc(t *testing.T, file, fn string) *ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fn {
			return fd
		}
	}
	t.Fatalf("no func %s in %s", fn, file)
	return nil
}

// comparedStrings lists the string literals fn compares the variable name
// with (kind == "Service").
func comparedStrings(t *testing.T, file, fn, name string) []string {
	var out []string
	ast.Inspect(parseFunc(t, file, fn), func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.EQL {
			if id, ok := b.X.(*ast.Ident); ok && id.Name == name {
				if lit, ok := b.Y.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("%s compares %s with no literal: has it changed shape?", fn, name)
	}
	return out
}

// returnedStrings lists the string literals fn returns first.
func returnedStrings(t *testing.T, file, fn string) []string {
	var out []string
	ast.Inspect(parseFunc(t, file, fn), func(n ast.Node) bool {
		if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) > 0 {
			var lit *ast.BasicLit
			switch e := r.Results[0].(type) {
			case *ast.BasicLit:
				lit = e
			case *ast.BinaryExpr: // "cannot be " + verbPast[verb]
				lit, _ = e.X.(*ast.BasicLit)
			}
			if lit != nil && lit.Kind == token.STRING {
				if s, _ := strconv.Unquote(lit.Value); s != "" {
					out = append(out, s)
				}
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("%s returns no literal reason: has it changed shape?", fn)
	}
	return out
}

func TestRuleDescribe(t *testing.T) {
	rs := mustRules(t, `
- name: hpa
  match: {group: apps, kind: Deployment, namespaces: [shop], names: ["web-*"], labelSelector: app=web}
  ignoreFields: [spec.replicas]
- match: {kind: "*WebhookConfiguration"}
  ignoreManagers: [cainjector]
`)
	var got strings.Builder
	for _, d := range rs.Describe() {
		got.WriteString(d.String())
	}
	want := `normalize    normalize[0] (hpa): apps Deployment in namespace shop named web-* labelled app=web
    - spec.replicas
    why: the configuration file says so
normalize    normalize[1]: *WebhookConfiguration of any group, removes the fields owned by field managers cainjector
    why: the configuration file says so
`
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
}
