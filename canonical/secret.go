package canonical

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Redacted is the value every sensitive value gets in a redacted file. It
// is not valid base64 on purpose: the API server refuses a Secret holding
// it, so a redacted file applied by anything but kubesnap (kubectl apply,
// Argo CD, Flux) fails instead of overwriting the live values with it.
const Redacted = "kubesnap:redacted"

// legacyRedacted is the marker files written before Redacted held: the
// base64 of "kubesnap:redacted", which the API server accepts. It is still
// read as a marker, and rewritten to Redacted by Normalize.
const legacyRedacted = "a3ViZXNuYXA6cmVkYWN0ZWQ="

// IsRedacted reports whether v is a redaction marker, Redacted or the one
// older files hold.
func IsRedacted(v any) bool {
	s, ok := v.(string)
	return ok && (s == Redacted || s == legacyRedacted)
}

// RedactedAnnotation marks an object whose sensitive values were replaced
// by Redacted; restore must never apply such an object.
const RedactedAnnotation = "kubesnap.io/redacted"

// DigestAnnotation holds a keyed digest (HMAC-SHA256) of an object's
// sensitive values, so that a changed value changes the file although the
// file does not hold the value. Its key never reaches git: without the key
// the digest tells nothing about the values.
const DigestAnnotation = "kubesnap.io/digest"

// digestPrefix names the digest's algorithm in DigestAnnotation.
const digestPrefix = "hmac-sha256:"

// Protection says what Normalize does with sensitive values: those of core
// Secrets and of the kinds in Sensitive.
type Protection struct {
	// Keep leaves the values in place, for a caller that encrypts them or
	// was told to store them as they are. By default they are redacted.
	Keep bool
	// Key keys DigestAnnotation. Without a key no digest is written, and
	// a digest the object carries is dropped (unless the object is
	// already redacted: its digest is the only trace of its values).
	Key []byte
	// Sensitive are kinds besides core Secrets whose values are
	// sensitive: everything but apiVersion, kind, metadata and status.
	Sensitive map[schema.GroupKind]bool
}

// SensitiveFields returns the names of the fields that hold obj's
// sensitive values, sorted, or nil when obj has none. A value is sensitive
// when some key on its path from the root has one of these names: the rule
// sops applies to its encrypted_regex, so that a redacted file and an
// encrypted one hide the same values.
func SensitiveFields(obj *unstructured.Unstructured, sensitive map[schema.GroupKind]bool) []string {
	gk := obj.GroupVersionKind().GroupKind()
	if gk == (schema.GroupKind{Kind: "Secret"}) {
		// The fields of a core Secret that hold its values; a new slice
		// each time, so that no caller shares one with another.
		return []string{"data", "stringData"}
	}
	if !sensitive[gk] {
		return nil
	}
	var names []string
	for k := range obj.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// EncryptedRegex is the sops encrypted_regex that encrypts exactly the
// values under fields.
func EncryptedRegex(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = regexp.QuoteMeta(f)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// eachSensitive calls fn with a pointer-like setter for every scalar value
// of v that lies under a key in names, in canonical key order. under says
// whether v itself lies under such a key. It returns whether any was seen.
func eachSensitive(v any, names map[string]bool, under bool, path []string, fn func(path []string, value any, set func(any))) bool {
	seen := false
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(path, k)
			in := under || names[k]
			switch c := t[k].(type) {
			case map[string]any, []any:
				seen = eachSensitive(c, names, in, p, fn) || seen
			default:
				if in {
					seen = true
					fn(p, c, func(nv any) { t[k] = nv })
				}
			}
		}
	case []any:
		for i := range t {
			switch c := t[i].(type) {
			case map[string]any, []any:
				seen = eachSensitive(c, names, under, path, fn) || seen
			default:
				if under {
					seen = true
					fn(path, c, func(nv any) { t[i] = nv })
				}
			}
		}
	}
	return seen
}

// Digest returns the keyed digest of obj's values under fields, as
// DigestAnnotation holds it.
func Digest(obj *unstructured.Unstructured, fields []string, key []byte) string {
	names := nameSet(fields)
	type leaf struct {
		Path  []string `json:"p"`
		Value any      `json:"v"`
	}
	var leaves []leaf
	eachSensitive(obj.Object, names, false, nil, func(path []string, value any, _ func(any)) {
		leaves = append(leaves, leaf{Path: append([]string(nil), path...), Value: value})
	})
	data, _ := json.Marshal(leaves) // strings, numbers, bools and nulls only
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	return digestPrefix + hex.EncodeToString(mac.Sum(nil))
}

// Redact replaces obj's values under fields by Redacted and marks obj with
// RedactedAnnotation. It reports whether obj held any such value; an
// object without one is left as it is.
func Redact(obj *unstructured.Unstructured, fields []string) bool {
	if !eachSensitive(obj.Object, nameSet(fields), false, nil, func(_ []string, _ any, set func(any)) { set(Redacted) }) {
		return false
	}
	setAnnotation(obj, RedactedAnnotation, "true")
	return true
}

// protect applies p to obj's sensitive values, if it has any. What it does
// depends on obj's type and on the values alone, never on what obj says
// about itself: a live object may carry RedactedAnnotation and a digest
// (copied from a redacted file by whoever applied it) next to real values.
//
// An object whose every sensitive value is a marker is already redacted
// (a stored file): its digest is the only trace of its values and stays,
// and an older marker becomes Redacted. Any other object with values gets
// a fresh digest (none without a key) and is redacted, or, when p keeps
// the values, loses a RedactedAnnotation that would be false.
func protect(obj *unstructured.Unstructured, p Protection) {
	fields := SensitiveFields(obj, p.Sensitive)
	if fields == nil {
		return
	}
	names := nameSet(fields)
	values, markers := 0, 0
	eachSensitive(obj.Object, names, false, nil, func(_ []string, v any, _ func(any)) {
		values++
		if IsRedacted(v) {
			markers++
		}
	})
	if values > 0 && markers == values {
		eachSensitive(obj.Object, names, false, nil, func(_ []string, _ any, set func(any)) { set(Redacted) })
		setAnnotation(obj, RedactedAnnotation, "true")
		return
	}
	deleteAnnotation(obj, DigestAnnotation)
	deleteAnnotation(obj, RedactedAnnotation) // true only if set below
	if values == 0 {
		return
	}
	if len(p.Key) > 0 {
		setAnnotation(obj, DigestAnnotation, Digest(obj, fields, p.Key))
	}
	if !p.Keep {
		Redact(obj, fields)
	}
}

// HoldsRedacted reports whether any value of obj outside its metadata is a
// redaction marker: obj is (partly) a redacted file, whatever its
// annotations say, and applying it would write markers over live values.
// It does not need to know which types are sensitive.
func HoldsRedacted(obj *unstructured.Unstructured) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case map[string]any:
			for _, c := range t {
				if walk(c) {
					return true
				}
			}
		case []any:
			for _, c := range t {
				if walk(c) {
					return true
				}
			}
		default:
			return IsRedacted(t)
		}
		return false
	}
	for k, v := range obj.Object {
		if k != "metadata" && walk(v) {
			return true
		}
	}
	return false
}

// Sealed reads a file in the sops format (a top-level "sops" mapping) and
// returns it as a redacted file of the same object: the sops metadata
// dropped, every encrypted value replaced by Redacted, RedactedAnnotation
// set. recipients are the age recipients the file is encrypted for,
// sorted. ok is false when data is not an object in the sops format.
// Comparing the result with the redacted form of a live object tells
// whether the file must be encrypted again, without decrypting it.
func Sealed(data []byte) (redacted *unstructured.Unstructured, recipients []string, ok bool) {
	obj, err := Parse(data)
	if err != nil {
		return nil, nil, false
	}
	meta, isMap := obj.Object["sops"].(map[string]any)
	if !isMap || meta["mac"] == nil {
		return nil, nil, false
	}
	ages, _ := meta["age"].([]any)
	for _, a := range ages {
		if m, _ := a.(map[string]any); m != nil {
			if r, _ := m["recipient"].(string); r != "" {
				recipients = append(recipients, r)
			}
		}
	}
	sort.Strings(recipients)
	delete(obj.Object, "sops")
	// Every value under a key that encrypted_regex matches is hidden, as
	// Redact hides it: sops leaves "" and null as they are, and those
	// must compare equal to a redacted live object too.
	re, _ := meta["encrypted_regex"].(string)
	match, err := regexp.Compile(re)
	if re == "" || err != nil {
		match = nil
	}
	encrypted := false
	hide := func(v any, under bool) (any, bool) {
		if s, isStr := v.(string); under || isStr && strings.HasPrefix(s, "ENC[") {
			return Redacted, true
		}
		return v, false
	}
	var walk func(v any, under bool)
	walk = func(v any, under bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				in := under || match != nil && match.MatchString(k)
				switch c.(type) {
				case map[string]any, []any:
					walk(c, in)
				default:
					if nv, hidden := hide(c, in); hidden {
						t[k], encrypted = nv, true
					}
				}
			}
		case []any:
			for i, c := range t {
				switch c.(type) {
				case map[string]any, []any:
					walk(c, under)
				default:
					if nv, hidden := hide(c, under); hidden {
						t[i], encrypted = nv, true
					}
				}
			}
		}
	}
	walk(obj.Object, false)
	if encrypted {
		setAnnotation(obj, RedactedAnnotation, "true")
	}
	return obj, recipients, true
}

func nameSet(fields []string) map[string]bool {
	m := make(map[string]bool, len(fields))
	for _, f := range fields {
		m[f] = true
	}
	return m
}

func setAnnotation(obj *unstructured.Unstructured, k, v string) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[k] = v
	obj.SetAnnotations(ann)
}

func deleteAnnotation(obj *unstructured.Unstructured, k string) {
	ann := obj.GetAnnotations()
	if _, ok := ann[k]; !ok {
		return
	}
	delete(ann, k)
	obj.SetAnnotations(ann)
}
