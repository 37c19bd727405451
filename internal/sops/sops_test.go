package sops

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// secretRegex is the rule kubesnap (and Flux's docs) use for Secrets.
const secretRegex = "^(data|stringData)$"

// secretDoc is a Secret as canonical.Marshal writes it. Its sensitive
// values are in secretValues.
const secretDoc = `apiVersion: v1
data:
  password: cGFzc3dvcmQtdGhhdC1pcy1zZWNyZXQ=
  token: c2VjcmV0LXRva2VuLXZhbHVlLTQyNDI=
immutable: true
kind: Secret
metadata:
  annotations:
    kubesnap.io/note: |-
      first line of a note
      second line of a note
  generation: 3
  labels:
    app.kubernetes.io/name: demo
  name: db-credentials
  namespace: prod
stringData:
  config.yaml: |
    user: admin
    password: hunter2-in-a-file
  mode: "yes"
  port: "5432"
type: Opaque
`

// secretValues are secretDoc's values that must never appear in clear.
var secretValues = []string{
	"cGFzc3dvcmQtdGhhdC1pcy1zZWNyZXQ=", "password-that-is-secret",
	"c2VjcmV0LXRva2VuLXZhbHVlLTQyNDI=", "secret-token-value-4242",
	"hunter2-in-a-file", "user: admin",
}

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encrypt(t testing.TB, doc string, ids ...*age.X25519Identity) []byte {
	t.Helper()
	var rs []age.Recipient
	for _, id := range ids {
		rs = append(rs, id.Recipient())
	}
	out, err := Encrypt([]byte(doc), rs, secretRegex, now)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	one, two := newIdentity(t), newIdentity(t)
	for _, tc := range []struct {
		name       string
		recipients []*age.X25519Identity
		decryptor  *age.X25519Identity
	}{
		{"one recipient decrypts", []*age.X25519Identity{one}, one},
		{"the first of two recipients decrypts", []*age.X25519Identity{one, two}, one},
		{"the second of two recipients decrypts", []*age.X25519Identity{one, two}, two},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := encrypt(t, secretDoc, tc.recipients...)
			got, err := Decrypt(enc, []age.Identity{tc.decryptor})
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			// Decrypt gives back the canonical bytes, not just the same
			// values.
			if diff := cmp.Diff(secretDoc, string(got)); diff != "" {
				t.Errorf("Decrypt(Encrypt(doc)) (-want +got):\n%s", diff)
			}
			var md struct {
				Sops struct {
					Age []struct{ Recipient string }
				}
			}
			if err := yaml.Unmarshal(enc, &md); err != nil {
				t.Fatal(err)
			}
			var want, gotR []string
			for _, id := range tc.recipients {
				want = append(want, id.Recipient().String())
			}
			for _, a := range md.Sops.Age {
				gotR = append(gotR, a.Recipient)
			}
			if diff := cmp.Diff(want, gotR); diff != "" {
				t.Errorf("age recipients (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncryptOutput(t *testing.T) {
	enc := encrypt(t, secretDoc, newIdentity(t))
	for _, v := range secretValues {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if bytes.Contains(enc, []byte(form)) {
				t.Errorf("the encrypted file holds %q", form)
			}
		}
	}
	// Everything but the encrypted values is as it was, in the same
	// order, and the sops key comes last.
	skeleton := regexp.MustCompile(`ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]`).ReplaceAllString(string(enc), "ENC")
	skeleton, _, _ = strings.Cut(skeleton, "\nsops:\n")
	want := regexp.MustCompile(`(?m)^(  (password|token|config.yaml|mode|port): ).*(\n    .*)*$`).ReplaceAllString(secretDoc, "${1}ENC")
	want = strings.TrimSuffix(want, "\n")
	if diff := cmp.Diff(want, skeleton); diff != "" {
		t.Errorf("encrypted file without its values and metadata (-want +got):\n%s", diff)
	}
	var md struct {
		Sops map[string]any
	}
	if err := yaml.Unmarshal(enc, &md); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range md.Sops {
		keys = append(keys, k)
	}
	if diff := cmp.Diff([]string{"age", "encrypted_regex", "lastmodified", "mac", "version"}, keys, cmpSorted); diff != "" {
		t.Errorf("sops metadata keys (-want +got):\n%s", diff)
	}
	if got := md.Sops["lastmodified"]; got != "2026-03-04T05:06:07Z" {
		t.Errorf("lastmodified = %v, want now in RFC 3339", got)
	}
	if got := md.Sops["encrypted_regex"]; got != secretRegex {
		t.Errorf("encrypted_regex = %v, want %s", got, secretRegex)
	}
	if !IsEncrypted(enc) {
		t.Error("IsEncrypted(Encrypt(doc)) = false")
	}
	if IsEncrypted([]byte(secretDoc)) {
		t.Error("IsEncrypted(plain doc) = true")
	}
}

var encryptedValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:(str|int|float|bool)\]$`)

// maskEncrypted replaces every encrypted value in a parsed document by
// "ENC".
func maskEncrypted(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = maskEncrypted(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskEncrypted(e)
		}
		return out
	case string:
		if encryptedValue.MatchString(v) {
			return "ENC"
		}
	}
	return v
}

var cmpSorted = cmp.Transformer("sort", func(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
})

// TestEncryptedLeaves pins down sops's rule: a value is encrypted when some
// key on its path from the root matches the regex, at any depth; list items
// take the path of the key holding the list; null stays null.
func TestEncryptedLeaves(t *testing.T) {
	doc := `apiVersion: v1
data:
  empty: ""
  list:
    - item
    - nested: deep
  "null": null
  number: 42
  ratio: 0.5
  truth: false
kind: Thing
metadata:
  name: x
spec:
  data:
    inner: secret-at-depth
  dataset: clear-dataset
  items:
    - data: secret-in-list
      name: clear-in-list
  mydata: clear-mydata
  stringData:
    - a
    - b
`
	id := newIdentity(t)
	enc := encrypt(t, doc, id)
	var got map[string]any
	if err := yaml.Unmarshal(enc, &got); err != nil {
		t.Fatal(err)
	}
	delete(got, "sops")
	const e = "ENC"
	want := map[string]any{
		"apiVersion": "v1",
		"data": map[string]any{
			// sops writes an empty string as it is.
			"empty": "", "list": []any{e, map[string]any{"nested": e}},
			"null": nil, "number": e, "ratio": e, "truth": e,
		},
		"kind":     "Thing",
		"metadata": map[string]any{"name": "x"},
		"spec": map[string]any{
			"data":       map[string]any{"inner": e},
			"dataset":    "clear-dataset",
			"items":      []any{map[string]any{"data": e, "name": "clear-in-list"}},
			"mydata":     "clear-mydata",
			"stringData": []any{e, e},
		},
	}
	if diff := cmp.Diff(want, maskEncrypted(got)); diff != "" {
		t.Errorf("encrypted file, ENC[…] values shown as ENC (-want +got):\n%s", diff)
	}
	values, _, _ := strings.Cut(string(enc), "\nsops:\n")
	for typ, n := range map[string]int{"str": 6, "int": 1, "float": 1, "bool": 1} {
		if c := strings.Count(values, ",type:"+typ+"]"); c != n {
			t.Errorf("%d values of type %s, want %d", c, typ, n)
		}
	}
	dec, err := Decrypt(enc, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc, string(dec)); diff != "" {
		t.Errorf("Decrypt(Encrypt(doc)) (-want +got):\n%s", diff)
	}
}

func TestCommentsUnderEncryptedKeys(t *testing.T) {
	doc := `apiVersion: v1
# a comment in clear
data:
  # the database password
  password: c2VjcmV0
  list:
    # first item
    - a
kind: Secret
`
	id := newIdentity(t)
	enc := encrypt(t, doc, id)
	for _, c := range []string{"the database password", "first item"} {
		if bytes.Contains(enc, []byte(c)) {
			t.Errorf("comment %q under data is in clear", c)
		}
	}
	if !bytes.Contains(enc, []byte("a comment in clear")) {
		t.Error("the comment outside data was encrypted")
	}
	dec, err := Decrypt(enc, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc, string(dec)); diff != "" {
		t.Errorf("Decrypt(Encrypt(doc)) (-want +got):\n%s", diff)
	}
}

func TestIsEncrypted(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want bool
	}{
		{"a SOPS file", "a: ENC[x]\nsops:\n  mac: ENC[y]\n", true},
		{"a plain object", secretDoc, false},
		{"a sops key without mac", "sops:\n  version: 3.13.3\n", false},
		{"a sops key that is not a mapping", "sops: yes\n", false},
		{"a nested sops key", "a:\n  sops:\n    mac: x\n", false},
		{"not YAML", "a: [\n", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsEncrypted([]byte(tc.doc)); got != tc.want {
				t.Errorf("IsEncrypted = %v, want %v", got, tc.want)
			}
		})
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCanonicalGoldenFiles encrypts every object canonical's golden tests
// write and checks that decryption gives back the exact bytes, whether a
// Secret's fields or every value is encrypted.
func TestCanonicalGoldenFiles(t *testing.T) {
	files, err := filepath.Glob("../../canonical/testdata/*/want.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden file in ../../canonical/testdata")
	}
	id := newIdentity(t)
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []string{secretRegex, "."} {
			t.Run(filepath.Base(filepath.Dir(f))+" "+re, func(t *testing.T) {
				enc, err := Encrypt(doc, []age.Recipient{id.Recipient()}, re, now)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Decrypt(enc, []age.Identity{id})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(doc), string(got)); diff != "" {
					t.Errorf("Decrypt(Encrypt(doc)) (-want +got):\n%s", diff)
				}
			})
		}
	}
}
