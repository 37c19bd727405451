package sops

import (
	"bytes"
	"encoding/base64"
	"errors"
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

func TestDecryptFailures(t *testing.T) {
	id := newIdentity(t)
	enc := string(encrypt(t, secretDoc, id))
	encValues := regexp.MustCompile(`ENC\[AES256_GCM[^\]]*\]`).FindAllString(enc, -1)
	for _, tc := range []struct {
		name   string
		doc    string
		ids    []age.Identity
		is     error
		errMsg string
	}{
		{
			name:   "a wrong identity is refused",
			doc:    enc,
			ids:    []age.Identity{newIdentity(t)},
			is:     ErrNoIdentity,
			errMsg: "no age identity matches any recipient of this file: give the key with --age-identity FILE or SOPS_AGE_KEY_FILE",
		},
		{
			name:   "no identity at all is refused",
			doc:    enc,
			is:     ErrNoIdentity,
			errMsg: ErrNoIdentity.Error(),
		},
		{
			name:   "a changed value in clear fails the MAC",
			doc:    strings.Replace(enc, "app.kubernetes.io/name: demo", "app.kubernetes.io/name: evil", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a changed int in clear fails the MAC",
			doc:    strings.Replace(enc, "generation: 3", "generation: 4", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a removed value fails the MAC",
			doc:    strings.Replace(enc, "type: Opaque\n", "", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption",
		},
		{
			name:   "a changed lastmodified fails the MAC",
			doc:    strings.Replace(enc, "2026-03-04T05:06:07Z", "2026-03-04T05:06:08Z", 1),
			is:     ErrModified,
			errMsg: "MAC mismatch: the file was changed after encryption (its mac or lastmodified was altered)",
		},
		{
			name:   "encrypted values swapped between keys do not decrypt",
			doc:    strings.NewReplacer(encValues[0], encValues[1], encValues[1], encValues[0]).Replace(enc),
			is:     ErrModified,
			errMsg: "the value at data.password does not decrypt: the file was changed after encryption",
		},
		{
			name:   "a changed ciphertext does not decrypt",
			doc:    strings.Replace(enc, encValues[0], strings.Replace(encValues[0], "data:", "data:AAAA", 1), 1),
			is:     ErrModified,
			errMsg: "the value at data.password does not decrypt: the file was changed after encryption",
		},
		{
			name:   "a value put in clear under an encrypted key is refused",
			doc:    strings.Replace(enc, encValues[0], "cGxhaW4tdGV4dC12YWx1ZQ==", 1),
			is:     ErrModified,
			errMsg: "the value at data.password is in clear, though the file's rules encrypt it: the file was changed after encryption",
		},
		{
			name:   "a plain document is not a SOPS file",
			doc:    secretDoc,
			is:     ErrNotEncrypted,
			errMsg: "not a SOPS file: it has no top-level sops key with a mac",
		},
		{
			name:   "a sops key without a mac is not a SOPS file",
			doc:    "a: b\nsops:\n  version: 3.13.3\n",
			is:     ErrNotEncrypted,
			errMsg: "not a SOPS file: it has no top-level sops key with a mac",
		},
		{
			name:   "a file without age entries is refused",
			doc:    regexp.MustCompile(`(?s)  age:\n.*?  encrypted_regex`).ReplaceAllString(enc, "  encrypted_regex"),
			errMsg: "the file's sops metadata holds no age recipient",
		},
		{
			name:   "a file for pgp keys only is refused",
			doc:    regexp.MustCompile(`(?s)  age:\n.*?  encrypted_regex`).ReplaceAllString(enc, "  pgp:\n    - fp: ABCD\n      enc: x\n      created_at: \"2026-03-04T05:06:07Z\"\n  encrypted_regex"),
			errMsg: "the file's data key is encrypted for pgp only, and kubesnap decrypts with age keys only",
		},
		{
			name:   "two rules are refused, as sops refuses them",
			doc:    strings.Replace(enc, "  encrypted_regex:", "  unencrypted_suffix: _clear\n  encrypted_regex:", 1),
			errMsg: "sops metadata names more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex and encrypted_comment_regex, which sops refuses",
		},
		{
			name:   "two documents are refused",
			doc:    enc + "---\na: b\n",
			errMsg: "the file holds more than one YAML document",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := tc.ids
			if ids == nil && tc.is != ErrNoIdentity {
				ids = []age.Identity{id}
			}
			_, err := Decrypt([]byte(tc.doc), ids)
			if err == nil {
				t.Fatal("Decrypt succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %q", err, tc.is)
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, v := range secretValues {
		if strings.Contains(s, v) {
			t.Errorf("%q holds the secret %q", s, v)
		}
	}
}

func TestEncryptFailures(t *testing.T) {
	r := newIdentity(t).Recipient()
	enc := encrypt(t, secretDoc, newIdentity(t))
	for _, tc := range []struct {
		name       string
		doc        string
		recipients []age.Recipient
		regex      string
		errMsg     string
	}{
		{"no recipient", secretDoc, nil, secretRegex, "encrypt: no age recipient given"},
		{"an empty regex", secretDoc, []age.Recipient{r}, "", "encrypt: the encrypted regex is empty"},
		{"a bad regex", secretDoc, []age.Recipient{r}, "^(data", `encrypt: encrypted regex "^(data" is not a regular expression`},
		{"an encrypted file", string(enc), []age.Recipient{r}, secretRegex, "encrypt: the document already has a top-level sops key (it is a SOPS file already)"},
		{"a list", "- a\n- b\n", []age.Recipient{r}, secretRegex, "the document is not a YAML mapping"},
		{"an empty document", "", []age.Recipient{r}, secretRegex, "the document is empty"},
		{"an alias", "a: &x {b: c}\nd: *x\n", []age.Recipient{r}, secretRegex, "the value at d is a YAML alias: aliases are not supported"},
		{"a duplicate key", "data:\n  a: password-that-is-secret\n  a: x\n", []age.Recipient{r}, secretRegex, `key "a" appears twice in data`},
		{"a non-string key", "data:\n  1: password-that-is-secret\n", []age.Recipient{r}, secretRegex, "key 1 in data is a int, and sops supports string keys only"},
		{"a value beyond int64", "data:\n  a: 18446744073709551615\n", []age.Recipient{r}, secretRegex, "encrypt the value at data.a: a value of type uint64 cannot be encrypted"},
		{"a bad tag", "data:\n  a: !!int password-that-is-secret\n", []age.Recipient{r}, secretRegex, "read the value at data.a: its YAML tag does not fit it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encrypt([]byte(tc.doc), tc.recipients, tc.regex, now)
			if err == nil {
				t.Fatal("Encrypt succeeded")
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
			assertNoSecret(t, err.Error())
		})
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

func TestParseRecipients(t *testing.T) {
	id := newIdentity(t)
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String(), " " + pq.Recipient().String() + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d recipients, want 2", len(rs))
	}
	// The hybrid recipient encrypts and its identity decrypts.
	enc, err := Encrypt([]byte(secretDoc), rs[1:], secretRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(enc, []age.Identity{pq}); err != nil {
		t.Errorf("decrypt with the hybrid identity: %v", err)
	}

	for _, tc := range []struct {
		name, in, errMsg string
	}{
		{"a truncated key", "age1qqqq", "age recipient 1 is not a valid age1… public key"},
		{"a secret key", id.String(), "age recipient 1 is an age secret key, not a recipient: give its public key (age-keygen -y)"},
		{"an ssh key", "ssh-ed25519 AAAAC3Nza", "age recipient 1 is an SSH key: give an age1… public key"},
		{"a plugin", "age1yubikey1qqqqqqq", "age recipient 1 is an age plugin recipient, which kubesnap does not support"},
		{"garbage", "hello", "age recipient 1 is not an age public key (age1…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRecipients([]string{tc.in})
			if err == nil {
				t.Fatal("ParseRecipients succeeded")
			}
			if err.Error() != tc.errMsg {
				t.Errorf("error = %q, want %q", err, tc.errMsg)
			}
		})
	}
	if _, err := ParseRecipients(nil); err == nil || err.Error() != "no age recipient given" {
		t.Errorf("ParseRecipients(nil) error = %v", err)
	}
}

func TestReadRecipients(t *testing.T) {
	dir := t.TempDir()
	one, two := newIdentity(t), newIdentity(t)
	good := filepath.Join(dir, "good")
	write(t, good, "# team keys\n"+one.Recipient().String()+"\n\n  "+two.Recipient().String()+"  \r\n")
	rs, err := ReadRecipients(good)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encrypt([]byte(secretDoc), rs, secretRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(enc, []age.Identity{two}); err != nil {
		t.Errorf("the second recipient of the file cannot decrypt: %v", err)
	}

	bad := filepath.Join(dir, "bad")
	write(t, bad, one.Recipient().String()+"\n"+one.String()+"\n")
	_, err = ReadRecipients(bad)
	if want := bad + " line 2 is an age secret key, not a recipient: give its public key (age-keygen -y)"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	empty := filepath.Join(dir, "empty")
	write(t, empty, "# nobody\n")
	if _, err := ReadRecipients(empty); err == nil || err.Error() != empty+" holds no age recipient" {
		t.Errorf("error = %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ReadRecipients(missing); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want a wrapped ErrNotExist", err)
	}
}

func TestReadIdentities(t *testing.T) {
	dir := t.TempDir()
	id := newIdentity(t)
	good := filepath.Join(dir, "keys.txt")
	// What age-keygen writes.
	write(t, good, "# created: 2026-03-04T05:06:07Z\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n")
	ids, err := ReadIdentities(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(encrypt(t, secretDoc, id), ids); err != nil {
		t.Errorf("decrypt with the identities read: %v", err)
	}

	secret := id.String()
	for _, tc := range []struct {
		name, content, errMsg string
	}{
		{"a damaged key", "# key\n" + secret[:len(secret)-2] + "\n", " line 2 is a malformed AGE-SECRET-KEY-1… identity"},
		{"a public key", id.Recipient().String() + "\n", " line 1 is not an age identity (AGE-SECRET-KEY-1…)"},
		{"a plugin identity", "AGE-PLUGIN-YUBIKEY-1QQQQ\n", " line 1 is an age plugin identity, which kubesnap does not support"},
		{"no identity", "# nothing here\n\n", " holds no age identity (AGE-SECRET-KEY-1…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys.txt")
			write(t, p, tc.content)
			_, err := ReadIdentities(p)
			if err == nil {
				t.Fatal("ReadIdentities succeeded")
			}
			if err.Error() != p+tc.errMsg {
				t.Errorf("error = %q, want %q", err, p+tc.errMsg)
			}
			if strings.Contains(err.Error(), secret[len("AGE-SECRET-KEY-1"):20]) {
				t.Errorf("error %q holds part of the secret key", err)
			}
		})
	}
	t.Run("an unreadable file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.txt")
		_, err := ReadIdentities(p)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "read age identities: ") {
			t.Errorf("error = %v, want a wrapped ErrNotExist", err)
		}
		dir := t.TempDir()
		if _, err := ReadIdentities(dir); err == nil {
			t.Error("ReadIdentities of a folder succeeded")
		}
	})
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
