package sops

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// secretLike writes a Secret as canonical.Marshal would, with the given
// values in data, stringData and a label.
func secretLike(t *testing.T, password, file, label string) []byte {
	t.Helper()
	str := func(s string) *yaml.Node {
		n := &yaml.Node{}
		setString(n, s)
		return n
	}
	mapping := func(kv ...*yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	}
	root := mapping(
		str("apiVersion"), str("v1"),
		str("data"), mapping(str("password"), str(password)),
		str("kind"), str("Secret"),
		str("metadata"), mapping(
			str("labels"), mapping(str("note"), str(label)),
			str("name"), str("fuzz"),
		),
		str("stringData"), mapping(str("file"), str(file), str("list"), &yaml.Node{
			Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{str(password), str(file)},
		}),
	)
	out, err := emit(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
	if err != nil {
		t.Skipf("yaml cannot write these values: %v", err)
	}
	return out
}

var (
	encToken  = regexp.MustCompile(`ENC\[AES256_GCM,data:[^,]*,iv:[^,]+,tag:[^,]+,type:[a-z]+\]`)
	ageArmor  = regexp.MustCompile(`(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----`)
	fuzzIdent *age.X25519Identity
)

// redact blanks what is random in an encrypted file: ciphertexts and the
// armored data keys.
func redact(b []byte) string {
	return ageArmor.ReplaceAllString(encToken.ReplaceAllString(string(b), "ENC"), "AGE")
}

// FuzzEncryptDecrypt checks, for any string values, that decryption gives
// back the exact document, and that nothing of the encrypted values is
// outside their ciphertexts: the file without its ciphertexts is the same
// whatever the values (but for telling an empty string from another, which
// sops writes in clear), so no plaintext of four bytes or more is in it.
func FuzzEncryptDecrypt(f *testing.F) {
	f.Add("c2VjcmV0", "user: admin\npassword: hunter2\n", "demo")
	f.Add("", "yes", "on")
	f.Add("12:30", " leading and trailing ", "\ttab")
	f.Add("ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "#not a comment", "a: b")
	f.Add("- item", "multi\n\nline\n", "'quoted'")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	fuzzIdent = id
	f.Fuzz(func(t *testing.T, password, file, label string) {
		for _, s := range []string{password, file, label} {
			if !utf8.ValidString(s) {
				t.Skip("Kubernetes objects hold UTF-8 only")
			}
		}
		doc := secretLike(t, password, file, label)
		var parsed struct {
			Data       map[string]string
			StringData struct{ File string }
			Metadata   struct{ Labels map[string]string }
		}
		if err := yaml.Unmarshal(doc, &parsed); err != nil || parsed.Data["password"] != password ||
			parsed.StringData.File != file || parsed.Metadata.Labels["note"] != label {
			t.Skip("yaml does not read back what it wrote for these values")
		}
		rs := []age.Recipient{fuzzIdent.Recipient()}
		enc, err := Encrypt(doc, rs, secretRegex, now)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		got, err := Decrypt(enc, []age.Identity{fuzzIdent})
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if diff := cmp.Diff(string(doc), string(got)); diff != "" {
			t.Fatalf("Decrypt(Encrypt(doc)) (-want +got):\n%s", diff)
		}

		placeholder := func(s string) string {
			if s == "" {
				return ""
			}
			return "x"
		}
		ref, err := Encrypt(secretLike(t, placeholder(password), placeholder(file), label), rs, secretRegex, now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(redact(ref), redact(enc)); diff != "" {
			t.Fatalf("the file without its ciphertexts depends on the encrypted values (-placeholders +values):\n%s", diff)
		}
		for _, v := range []string{password, file} {
			if len(v) >= 4 && !strings.Contains(redact(ref), v) && strings.Contains(redact(enc), v) {
				t.Fatalf("the encrypted file holds %q in clear", v)
			}
		}
		if !bytes.Contains(enc, []byte("ENC[AES256_GCM")) {
			t.Fatal("nothing was encrypted")
		}
	})
}
