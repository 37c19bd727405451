package diff

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubesnap/kubesnap/canonical"
)

var secretID = canonical.ID{Resource: "secrets", Namespace: "shop", Name: "db"}

const secretPath = "namespaces/shop/secrets/db.yaml"

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secretYAML is a Secret with the given data (values base64-encoded here)
// and stringData, each as "key: value" lines.
func secretYAML(data, stringData []string, extra string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\n")
	if data != nil {
		b.WriteString("data:\n")
		for _, kv := range data {
			k, v, _ := strings.Cut(kv, ": ")
			b.WriteString("  " + k + ": " + b64(v) + "\n")
		}
	}
	b.WriteString("kind: Secret\nmetadata:\n  name: db\n  namespace: shop\n")
	if stringData != nil {
		b.WriteString("stringData:\n")
		for _, kv := range stringData {
			b.WriteString("  " + kv + "\n")
		}
	}
	b.WriteString(extra)
	return []byte(b.String())
}

// TestSecretValuesNeverLeak renders Secrets of many shapes, parsable or not,
// in every format and looks for each value, as written and base64-encoded.
func TestSecretValuesNeverLeak(t *testing.T) {
	values := []string{"alpha-Value-1x", "bravo-Value-2y", "charlie-Value-3z", "delta-Value-4w"}
	tests := []struct {
		name     string
		from, to []byte
	}{
		{
			name: "a value changes",
			from: secretYAML([]string{"password: alpha-Value-1x"}, nil, ""),
			to:   secretYAML([]string{"password: bravo-Value-2y"}, nil, ""),
		},
		{
			name: "keys are added and removed, in data and stringData",
			from: secretYAML([]string{"old: alpha-Value-1x"}, []string{"gone: charlie-Value-3z"}, ""),
			to:   secretYAML([]string{"new: bravo-Value-2y"}, []string{"fresh: delta-Value-4w"}, ""),
		},
		{
			name: "the Secret is only in From",
			from: secretYAML([]string{"a: alpha-Value-1x"}, []string{"b: bravo-Value-2y"}, ""),
		},
		{
			name: "the Secret is only in To",
			to:   secretYAML([]string{"a: alpha-Value-1x"}, []string{"b: bravo-Value-2y"}, ""),
		},
		{
			name: "the last-applied annotation repeats the values",
			from: secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			to: []byte("apiVersion: v1\ndata:\n  a: " + b64("bravo-Value-2y") + "\nkind: Secret\nmetadata:\n  annotations:\n" +
				"    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"a\":\"" + b64("bravo-Value-2y") +
				"\"},\"stringData\":{\"b\":\"charlie-Value-3z\"}}'\n  name: db\n  namespace: shop\n"),
		},
		{
			name: "data is not a map",
			from: []byte("apiVersion: v1\ndata: alpha-Value-1x\nkind: Secret\nmetadata:\n  name: db\n"),
			to:   []byte("apiVersion: v1\ndata:\n  - bravo-Value-2y\nkind: Secret\nmetadata:\n  name: db\n"),
		},
		{
			name: "values are not strings",
			from: []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  a:\n    nested: alpha-Value-1x\n"),
			to:   []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  a: [bravo-Value-2y]\n"),
		},
		{
			name: "a value is not base64",
			from: []byte("apiVersion: v1\ndata:\n  a: alpha-Value-1x\nkind: Secret\nmetadata:\n  name: db\n"),
			to:   []byte("apiVersion: v1\ndata:\n  a: bravo-Value-2y\nkind: Secret\nmetadata:\n  name: db\n"),
		},
		{
			name: "From is not YAML",
			from: []byte("apiVersion: v1\ndata:\n  a: " + b64("alpha-Value-1x") + "\n   b: charlie-Value-3z\nkind: Secret\n"),
			to:   secretYAML([]string{"a: bravo-Value-2y"}, nil, ""),
		},
		{
			// The decoder's error quotes the whole document here.
			name: "To has no kind",
			from: secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			to:   []byte("apiVersion: v1\ndata:\n  a: " + b64("bravo-Value-2y") + "\nmetadata:\n  name: db\n"),
		},
		{
			name: "neither side parses",
			from: []byte("data: {a: alpha-Value-1x\n"),
			to:   []byte("data: [bravo-Value-2y\n"),
		},
		{
			name: "only formatting differs",
			from: secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			to:   []byte("kind: Secret\napiVersion: v1\nmetadata: {name: db, namespace: shop}\ndata: {a: " + b64("alpha-Value-1x") + "}\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, live := range []bool{false, true} {
				r := Build([]Pair{{ID: secretID, Path: secretPath, From: tt.from, To: tt.to}}, 1,
					Options{From: "HEAD", To: "live", Live: live})
				if !r.Drift() {
					t.Fatal("no drift reported")
				}
				for name, out := range render(t, r) {
					for _, v := range values {
						for _, form := range []string{v, b64(v)} {
							if bytes.Contains(out, []byte(form)) {
								t.Errorf("%s holds %q:\n%s", name, form, out)
							}
						}
					}
				}
			}
		})
	}
}

// TestSecretShownWhenAsked checks that the search above can find a value:
// with ShowSecrets the diff holds them.
func TestSecretShownWhenAsked(t *testing.T) {
	from := secretYAML([]string{"password: alpha-Value-1x"}, nil, "")
	to := secretYAML([]string{"password: bravo-Value-2y"}, nil, "")
	r := Build([]Pair{{ID: secretID, Path: secretPath, From: from, To: to}}, 1, Options{ShowSecrets: true})
	for _, v := range []string{b64("alpha-Value-1x"), b64("bravo-Value-2y")} {
		if !strings.Contains(r.Entries[0].Diff, v) {
			t.Errorf("diff lacks %q:\n%s", v, r.Entries[0].Diff)
		}
	}
	if d := cmp.Diff(&SecretKeys{Changed: []string{"password"}}, r.Entries[0].SecretKeys); d != "" {
		t.Errorf("SecretKeys (-want +got):\n%s", d)
	}
}

// TestSecretRedaction checks the placeholders and the keys reported.
func TestSecretRedaction(t *testing.T) {
	tests := []struct {
		name     string
		from, to []byte
		wantDiff string // the hunks, after the headers
		wantKeys *SecretKeys
	}{
		{
			name: "an equal value keeps one placeholder on both sides, a changed one gets two",
			from: secretYAML([]string{"same: alpha-Value-1x", "changed: bravo-Value-2y"}, nil, ""),
			to:   secretYAML([]string{"same: alpha-Value-1x", "changed: charlie-Value-3z"}, nil, ""),
			wantDiff: lines("@@ -1,6 +1,6 @@", " apiVersion: v1", " data:",
				"-  changed: '"+OldValue+"'", "+  changed: '"+NewValue+"'", "   same: "+SameValue, " kind: Secret", " metadata:"),
			wantKeys: &SecretKeys{Changed: []string{"changed"}},
		},
		{
			name: "a value moved from data to stringData is not a changed key",
			from: secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			to:   secretYAML(nil, []string{"a: alpha-Value-1x"}, ""),
			wantDiff: lines("@@ -1,7 +1,7 @@", " apiVersion: v1", "-data:", "-  a: "+SameValue, " kind: Secret", " metadata:",
				"   name: db", "   namespace: shop", "+stringData:", "+  a: "+SameValue),
		},
		{
			name: "added, removed and changed keys are listed sorted",
			from: secretYAML([]string{"z-gone: alpha-Value-1x", "b-gone: alpha-Value-1x", "m: bravo-Value-2y"}, nil, ""),
			to:   secretYAML([]string{"y-new: charlie-Value-3z", "a-new: charlie-Value-3z", "m: delta-Value-4w"}, nil, ""),
			wantDiff: lines("@@ -1,8 +1,8 @@", " apiVersion: v1", " data:",
				"-  b-gone: '"+OldValue+"'", "-  m: '"+OldValue+"'", "-  z-gone: '"+OldValue+"'",
				"+  a-new: '"+NewValue+"'", "+  m: '"+NewValue+"'", "+  y-new: '"+NewValue+"'",
				" kind: Secret", " metadata:", "   name: db"),
			wantKeys: &SecretKeys{Added: []string{"a-new", "y-new"}, Removed: []string{"b-gone", "z-gone"}, Changed: []string{"m"}},
		},
		{
			name: "an annotation and a data of odd shape equal on both sides are unchanged",
			from: []byte("apiVersion: v1\ndata: alpha-Value-1x\nkind: Secret\nmetadata:\n  annotations:\n    " +
				lastApplied + ": '{\"data\":\"alpha-Value-1x\"}'\n  name: db\nstringData:\n  a: bravo-Value-2y\n"),
			to: []byte("apiVersion: v1\ndata: alpha-Value-1x\nkind: Secret\nmetadata:\n  annotations:\n    " +
				lastApplied + ": '{\"data\":\"alpha-Value-1x\"}'\n  name: db\nstringData:\n  a: charlie-Value-3z\n"),
			wantDiff: lines("@@ -6,4 +6,4 @@", "     "+lastApplied+": "+SameValue, "   name: db", " stringData:",
				"-  a: '"+OldValue+"'", "+  a: '"+NewValue+"'"),
			wantKeys: &SecretKeys{Changed: []string{"a"}},
		},
		{
			name:     "a file with the older redaction marker and one with the new are the same values",
			from:     []byte("apiVersion: v1\ndata:\n  a: a3ViZXNuYXA6cmVkYWN0ZWQ=\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"),
			to:       []byte("apiVersion: v1\ndata:\n  a: " + canonical.Redacted + "\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"),
			wantDiff: "# the two sides differ only in formatting or in how values are encoded: Secret values are hidden\n",
		},
		{
			name:     "a Secret that cannot be parsed is hidden whole",
			from:     []byte("data: {a: alpha-Value-1x\n"),
			to:       secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			wantDiff: "# the Secret in HEAD could not be parsed: its content is hidden\n",
		},
		{
			name:     "a Secret that differs only in formatting says so",
			from:     secretYAML([]string{"a: alpha-Value-1x"}, nil, ""),
			to:       []byte("{kind: Secret, apiVersion: v1, metadata: {name: db, namespace: shop}, data: {a: " + b64("alpha-Value-1x") + "}}\n"),
			wantDiff: "# the two sides differ only in formatting or in how values are encoded: Secret values are hidden\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build([]Pair{{ID: secretID, Path: secretPath, From: tt.from, To: tt.to}}, 1, Options{From: "HEAD", To: "live", Live: true})
			e := r.Entries[0]
			got := e.Diff
			if strings.HasPrefix(got, "--- ") {
				header := "--- HEAD/" + secretPath + "\n+++ live/" + secretPath + "\n"
				if !strings.HasPrefix(got, header) {
					t.Fatalf("diff does not start with %q:\n%s", header, got)
				}
				got = strings.TrimPrefix(got, header)
			}
			if d := cmp.Diff(tt.wantDiff, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantKeys, e.SecretKeys); d != "" {
				t.Errorf("SecretKeys (-want +got):\n%s", d)
			}
		})
	}
}

// TestOnlyCoreSecretsAreRedacted: a custom resource named "secrets" in
// another group is an ordinary object.
func TestOnlyCoreSecretsAreRedacted(t *testing.T) {
	id := canonical.ID{Group: "example.com", Resource: "secrets", Namespace: "shop", Name: "db"}
	from := secretYAML([]string{"a: alpha-Value-1x"}, nil, "")
	to := secretYAML([]string{"a: bravo-Value-2y"}, nil, "")
	r := Build([]Pair{{ID: id, Path: "namespaces/shop/secrets.example.com/db.yaml", From: from, To: to}}, 1, Options{})
	if e := r.Entries[0]; !strings.Contains(e.Diff, b64("bravo-Value-2y")) || e.SecretKeys != nil {
		t.Errorf("a custom resource was treated as a Secret: %+v", e)
	}
}
