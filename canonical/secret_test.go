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

// annotated is a Secret with real values that carries kubesnap's marks, as
// one does after someone applied a redacted file and filled in values.
func annotated(data map[string]any) *unstructured.Unstructured {
	obj := secret(data, nil)
	obj.SetAnnotations(map[string]string{RedactedAnnotation: "true", DigestAnnotation: digestPrefix + "00", "team": "db"})
	obj.SetLabels(map[string]string{RedactedAnnotation: "true", "app": "db"})
	return obj
}

// TestMarksOnALiveObjectDoNotKeepItsValues: redaction depends on the
// values, never on the object's annotations.
func TestMarksOnALiveObjectDoNotKeepItsValues(t *testing.T) {
	const canary = "canary-2c4e-annotated"
	want := normalized(t, secret(map[string]any{"password": b64(canary)}, nil), Protection{Key: testKey})
	out := normalized(t, annotated(map[string]any{"password": b64(canary)}), Protection{Key: testKey})
	if l := leaks(out, canary); len(l) > 0 {
		t.Fatalf("a Secret annotated %s keeps its value as %v:\n%s", RedactedAnnotation, l, out)
	}
	obj, _ := Parse(out)
	if got, w := obj.GetAnnotations()[DigestAnnotation], digestOf(t, want); got != w {
		t.Errorf("digest %q, want the digest of the values %q", got, w)
	}
	// A value that is the marker next to a real one: still redacted.
	mixed := normalized(t, annotated(map[string]any{"a": Redacted, "b": b64(canary)}), Protection{})
	if l := leaks(mixed, canary); len(l) > 0 || bytes.Contains(mixed, []byte(DigestAnnotation)) {
		t.Errorf("a Secret with one marker and one value:\n%s", mixed)
	}
	// Kept for encryption: values stay, the false mark goes, so that a
	// restore does not skip the object.
	kept := normalized(t, annotated(map[string]any{"password": b64(canary)}), Protection{Keep: true, Key: testKey})
	obj, _ = Parse(kept)
	if !bytes.Contains(kept, []byte(b64(canary))) || obj.GetAnnotations()[RedactedAnnotation] != "" {
		t.Errorf("kept values with the mark:\n%s", kept)
	}
	// A sensitive kind alike.
	gk := schema.GroupKind{Group: "example.com", Kind: "Credential"}
	cred := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Credential",
		"metadata": map[string]any{"name": "c", "annotations": map[string]any{RedactedAnnotation: "true"}},
		"spec":     map[string]any{"password": canary},
	}}
	if out := normalized(t, cred, Protection{Sensitive: map[schema.GroupKind]bool{gk: true}}); len(leaks(out, canary)) > 0 {
		t.Errorf("a sensitive kind annotated %s keeps its value:\n%s", RedactedAnnotation, out)
	}
}

func digestOf(t *testing.T, file []byte) string {
	t.Helper()
	obj, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	return obj.GetAnnotations()[DigestAnnotation]
}

// TestMarker: the marker is refused as base64 (so the API server refuses
// a redacted Secret), and files with the older marker read as redacted,
// in the form a live object is redacted in now.
func TestMarker(t *testing.T) {
	if _, err := base64.StdEncoding.DecodeString(Redacted); err == nil {
		t.Errorf("marker %q is valid base64: the API server would store it", Redacted)
	}
	want := normalized(t, secret(map[string]any{"a": b64("value-1"), "b": b64("value-2")}, nil), Protection{Key: testKey})
	old := bytes.ReplaceAll(want, []byte(Redacted), []byte(legacyRedacted))
	if bytes.Equal(old, want) {
		t.Fatal("no marker in the redacted file")
	}
	obj, err := Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	if !HoldsRedacted(obj) {
		t.Error("HoldsRedacted misses the older marker")
	}
	if got := normalized(t, obj, Protection{}); !bytes.Equal(got, want) {
		t.Errorf("a file with the older marker, normalized:\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"a Secret with values", secret(map[string]any{"a": b64("v")}, nil), false},
		{"a Secret with the marks but values", annotated(map[string]any{"a": b64("v")}), false},
		{"a custom object with a marker deep in a list", &unstructured.Unstructured{Object: map[string]any{
			"kind": "X", "spec": map[string]any{"l": []any{map[string]any{"k": Redacted}}}}}, true},
		{"the marker only in metadata", &unstructured.Unstructured{Object: map[string]any{
			"kind": "X", "metadata": map[string]any{"annotations": map[string]any{"a": Redacted}}}}, false},
	} {
		if got := HoldsRedacted(tc.obj); got != tc.want {
			t.Errorf("%s: HoldsRedacted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzRedaction: whatever the values, and whatever the object says about
// itself in its annotations and labels (kubesnap.io/redacted,
// kubesnap.io/digest, anything), no value survives normalization in any
// form, raw, base64 or from stringData; the result is stable; and values
// kept for encryption never carry a RedactedAnnotation.
func FuzzRedaction(f *testing.F) {
	f.Add("hunter2-password", "token-value", "key", "team", "db", byte(0))
	f.Add("a:b\nmulti line", "", "with.dot", "", "", byte(1))
	f.Add(" leading space ", "ünïcødé", "x", "", "", byte(3))
	f.Add("kubesnap:redacted", "kubesnap:redacted", "k", DigestAnnotation, digestPrefix+"ab", byte(7))
	f.Add("real-value-1", Redacted, "k", RedactedAnnotation, "true", byte(15))
	f.Fuzz(func(t *testing.T, value, strValue, key, annKey, annVal string, marks byte) {
		if len(value) < 6 || len(strValue) < 6 || key == "" || key == strValue {
			return
		}
		for _, s := range []string{value, strValue, key, annKey, annVal} {
			if !utf8.ValidString(s) {
				return // the API server takes only UTF-8 (JSON) strings
			}
		}
		build := func(v, sv string) *unstructured.Unstructured {
			obj := secret(map[string]any{key: b64(v)}, map[string]any{key + "-s": sv})
			ann, labels := map[string]string{}, map[string]string{"app": "db"}
			if marks&1 != 0 {
				ann[RedactedAnnotation] = "true"
			}
			if marks&2 != 0 {
				ann[DigestAnnotation] = digestPrefix + annVal
			}
			if marks&4 != 0 {
				labels[RedactedAnnotation] = "true"
				labels[DigestAnnotation] = annVal
			}
			if annKey != "" {
				ann[annKey] = annVal
			}
			obj.SetAnnotations(ann)
			obj.SetLabels(labels)
			return obj
		}
		control := normalized(t, build("zzzzzz-control", "zzzzzz-control2"), Protection{Key: testKey})
		for _, keep := range []bool{false, true} {
			p := Protection{Key: testKey, Keep: keep}
			if marks&8 != 0 {
				p.Key = nil
			}
			out := normalized(t, build(value, strValue), p)
			again, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if twice := normalized(t, again.DeepCopy(), p); !bytes.Equal(out, twice) {
				t.Fatalf("not idempotent (keep %v):\n%s\n---\n%s", keep, out, twice)
			}
			markers := IsRedacted(b64(value)) && IsRedacted(strValue)
			if keep {
				if again.GetAnnotations()[RedactedAnnotation] != "" && !markers {
					t.Fatalf("values kept, yet marked redacted:\n%s", out)
				}
				continue
			}
			for _, v := range []string{value, strValue} {
				if bytes.Contains(control, []byte(v)) || bytes.Contains(control, []byte(b64(v))) {
					continue // the value is part of every redacted file
				}
				if l := leaks(out, v); len(l) > 0 {
					t.Fatalf("value %q survives as %v:\n%s", v, l, out)
				}
			}
			if again.GetAnnotations()[RedactedAnnotation] != "true" {
				t.Fatalf("redacted, yet not marked:\n%s", out)
			}
		}
	})
}
