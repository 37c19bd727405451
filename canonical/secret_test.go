package canonical

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func secret(data, stringData map[string]any) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "namespace": "shop", "labels": map[string]any{"app": "db"}},
		"type":     "Opaque",
	}}
	if data != nil {
		obj.Object["data"] = data
	}
	if stringData != nil {
		obj.Object["stringData"] = stringData
	}
	return obj
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// leaks reports the forms of value found in out: raw, base64, or base64
// of a base64 form.
func leaks(out []byte, value string) []string {
	var found []string
	for name, form := range map[string]string{"raw": value, "base64": b64(value), "base64 twice": b64(b64(value))} {
		if bytes.Contains(out, []byte(form)) {
			found = append(found, name)
		}
	}
	return found
}

func normalized(t *testing.T, obj *unstructured.Unstructured, p Protection) []byte {
	t.Helper()
	Normalize(obj, Facts{Protection: p})
	out, err := Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRedactSecret(t *testing.T) {
	const canary = "canary-7f3e9a1b-password"
	out := normalized(t, secret(map[string]any{"password": b64(canary)}, map[string]any{"token": canary + "-token"}), Protection{Key: testKey})
	for _, v := range []string{canary, canary + "-token"} {
		if l := leaks(out, v); len(l) > 0 {
			t.Errorf("value %q survives as %v:\n%s", v, l, out)
		}
	}
	for _, want := range []string{"password: " + Redacted, "token: " + Redacted, RedactedAnnotation + `: "true"`, DigestAnnotation + ": " + digestPrefix, "app: db"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("stringData")) {
		t.Errorf("stringData kept:\n%s", out)
	}
}

func TestDigestTracksValues(t *testing.T) {
	digest := func(value string, key []byte) string {
		obj := secret(map[string]any{"a": b64(value), "b": b64("same")}, nil)
		Normalize(obj, Facts{Protection: Protection{Key: key}})
		return obj.GetAnnotations()[DigestAnnotation]
	}
	one := digest("v1", testKey)
	if one == "" || one != digest("v1", testKey) {
		t.Fatalf("digest not stable: %q", one)
	}
	if one == digest("v2", testKey) {
		t.Error("a changed value keeps the digest")
	}
	if one == digest("v1", []byte("another key, another cluster....")) {
		t.Error("the digest does not depend on the key")
	}
	// stringData and data with the same value are the same Secret.
	viaString := secret(nil, map[string]any{"a": "v1", "b": "same"})
	Normalize(viaString, Facts{Protection: Protection{Key: testKey}})
	if got := viaString.GetAnnotations()[DigestAnnotation]; got != one {
		t.Errorf("stringData digest %q, data digest %q", got, one)
	}
	// Without a key there is no digest.
	if got := digest("v1", nil); got != "" {
		t.Errorf("digest without key: %q", got)
	}
}

func TestNormalizeRedactedIsIdempotent(t *testing.T) {
	obj := secret(map[string]any{"a": b64("value-1")}, nil)
	once := normalized(t, obj, Protection{Key: testKey})
	again, err := Parse(once)
	if err != nil {
		t.Fatal(err)
	}
	// A stored redacted file normalized without the key keeps its digest.
	if twice := normalized(t, again, Protection{}); !bytes.Equal(once, twice) {
		t.Fatalf("not idempotent:\n%s\n---\n%s", once, twice)
	}
}

func TestKeepValues(t *testing.T) {
	obj := secret(map[string]any{"a": b64("value-1")}, nil)
	out := normalized(t, obj, Protection{Keep: true, Key: testKey})
	if !bytes.Contains(out, []byte(b64("value-1"))) || bytes.Contains(out, []byte(RedactedAnnotation)) {
		t.Fatalf("Keep redacted the value:\n%s", out)
	}
	if !bytes.Contains(out, []byte(DigestAnnotation)) {
		t.Fatalf("Keep with a key has no digest:\n%s", out)
	}
	// Keep without a key drops the digest: restore applies the Secret
	// without kubesnap's marks.
	again, _ := Parse(out)
	if out := normalized(t, again, Protection{Keep: true}); bytes.Contains(out, []byte(DigestAnnotation)) {
		t.Fatalf("digest kept without a key:\n%s", out)
	}
}

func TestSensitiveKinds(t *testing.T) {
	widget := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Credential",
			"metadata": map[string]any{"name": "c", "namespace": "shop"},
			"spec":     map[string]any{"user": "admin", "password": "canary-spec-secret", "ports": []any{int64(5432), "canary-in-list"}},
			"status":   map[string]any{"ok": true},
		}}
	}
	gk := schema.GroupKind{Group: "example.com", Kind: "Credential"}
	plain := normalized(t, widget(), Protection{Key: testKey})
	if !bytes.Contains(plain, []byte("canary-spec-secret")) {
		t.Fatalf("a kind not named sensitive was redacted:\n%s", plain)
	}
	out := normalized(t, widget(), Protection{Key: testKey, Sensitive: map[schema.GroupKind]bool{gk: true}})
	for _, v := range []string{"admin", "canary-spec-secret", "canary-in-list", "5432"} {
		if l := leaks(out, v); len(l) > 0 {
			t.Errorf("value %q survives as %v:\n%s", v, l, out)
		}
	}
	if !bytes.Contains(out, []byte("name: c")) {
		t.Errorf("metadata redacted:\n%s", out)
	}
	if got := SensitiveFields(widget(), map[schema.GroupKind]bool{gk: true}); strings.Join(got, ",") != "spec" {
		t.Errorf("SensitiveFields = %v", got)
	}
	if got := EncryptedRegex([]string{"data", "stringData"}); got != "^(data|stringData)$" {
		t.Errorf("EncryptedRegex = %q", got)
	}
}

func TestSealed(t *testing.T) {
	live := secret(map[string]any{"a": b64("value-1"), "empty": ""}, nil)
	want := normalized(t, live, Protection{Key: testKey})
	file := []byte(`apiVersion: v1
data:
  a: ENC[AES256_GCM,data:abcd,iv:efgh,tag:ijkl,type:str]
  empty: ""
kind: Secret
metadata:
  annotations:
    ` + DigestAnnotation + `: ` + live.GetAnnotations()[DigestAnnotation] + `
  labels:
    app: db
  name: db
  namespace: shop
sops:
  age:
    - recipient: age1zzz
      enc: x
    - recipient: age1aaa
      enc: y
  encrypted_regex: ^(data|stringData)$
  lastmodified: "2026-11-22T10:00:00Z"
  mac: ENC[AES256_GCM,data:m,iv:i,tag:t,type:str]
  version: 3.11.0
type: Opaque
`)
	red, recipients, ok := Sealed(file)
	if !ok {
		t.Fatal("not read as a sops file")
	}
	got, err := Marshal(red)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("sealed file as redacted:\n%s\nwant\n%s", got, want)
	}
	if strings.Join(recipients, ",") != "age1aaa,age1zzz" {
		t.Errorf("recipients %v", recipients)
	}
	if _, _, ok := Sealed(want); ok {
		t.Error("a redacted file read as a sops file")
	}
	if _, _, ok := Sealed([]byte("not: [yaml")); ok {
		t.Error("bad YAML read as a sops file")
	}
}

// FuzzRedaction: whatever the values, none survives normalization in any
// form, raw, base64 or from stringData, and the result is stable.
func FuzzRedaction(f *testing.F) {
	f.Add("hunter2-password", "token-value", "key")
	f.Add("a:b\nmulti line", "", "with.dot")
	f.Add(" leading space ", "ünïcødé", "x")
	f.Fuzz(func(t *testing.T, value, strValue, key string) {
		if len(value) < 6 || len(strValue) < 6 || key == "" || key == strValue ||
			!utf8.ValidString(key+value+strValue) {
			return // the API server takes only UTF-8 (JSON) strings
		}
		build := func(v, sv string) *unstructured.Unstructured {
			return secret(map[string]any{key: b64(v)}, map[string]any{key + "-s": sv})
		}
		control := normalized(t, build("zzzzzz-control", "zzzzzz-control2"), Protection{Key: testKey})
		out := normalized(t, build(value, strValue), Protection{Key: testKey})
		for _, v := range []string{value, strValue} {
			if bytes.Contains(control, []byte(v)) || bytes.Contains(control, []byte(b64(v))) {
				continue // the value is part of every redacted file
			}
			if l := leaks(out, v); len(l) > 0 {
				t.Fatalf("value %q survives as %v:\n%s", v, l, out)
			}
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if twice := normalized(t, again, Protection{Key: testKey}); !bytes.Equal(out, twice) {
			t.Fatalf("not idempotent:\n%s\n---\n%s", out, twice)
		}
	})
}
