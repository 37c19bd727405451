package diff

import (
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Placeholders stand for Secret values in a redacted diff. A value equal on
// both sides gets the same placeholder on both, so its line is unchanged;
// a value that differs (or a key on one side only) gets the placeholder of
// its side, so the diff shows that the key changed but not to what.
const (
	SameValue = "<redacted>"
	OldValue  = "<redacted: old value>"
	NewValue  = "<redacted: new value>"
)

// lastApplied is the annotation kubectl apply leaves on an object: on a
// Secret it holds every value, so it is redacted too.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// isSecret reports whether id is a core Secret, whose values are redacted.
func isSecret(id canonical.ID) bool {
	return id.Group == "" && id.Resource == "secrets"
}

// secretSide is one side of a Secret: the parsed object (nil when the
// object is not on that side) and its values by key.
type secretSide struct {
	obj    *unstructured.Unstructured
	values map[string]string
}

// parseSecret reads one side. The error never says why parsing failed: the
// decoder's messages may quote the document, values included.
func parseSecret(data []byte) (secretSide, bool) {
	if data == nil {
		return secretSide{}, true
	}
	obj, err := canonical.Parse(data)
	if err != nil {
		return secretSide{}, false
	}
	return secretSide{obj: obj, values: secretValues(obj)}, true
}

// secretValues are the values of a Secret by key as the API server would
// store them: data decoded from base64, and stringData (which the server
// folds into data on write) winning over data. So a value moved from data
// to stringData unchanged does not count as changed.
func secretValues(obj *unstructured.Unstructured) map[string]string {
	values := map[string]string{}
	if data, ok := obj.Object["data"].(map[string]any); ok {
		for k, v := range data {
			s, isString := v.(string)
			if canonical.IsRedacted(s) {
				// Either marker, old or new: no value, the same one.
				values[k] = "redacted"
				continue
			}
			if !isString {
				values[k] = "raw:" + jsonOf(v)
				continue
			}
			if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
				values[k] = "value:" + string(dec)
			} else {
				values[k] = "raw:" + jsonOf(v)
			}
		}
	}
	if sd, ok := obj.Object["stringData"].(map[string]any); ok {
		for k, v := range sd {
			if s, isString := v.(string); isString && canonical.IsRedacted(s) {
				values[k] = "redacted"
			} else if isString {
				values[k] = "value:" + s
			} else {
				values[k] = "raw:" + jsonOf(v)
			}
		}
	}
	return values
}

// jsonOf is v as JSON, to compare values of unexpected types.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "unencodable"
	}
	return string(b)
}

// compareKeys lists the keys added, removed and changed from → to, sorted,
// or nil when the Secrets hold the same keys and values.
func compareKeys(from, to map[string]string) *SecretKeys {
	var keys SecretKeys
	for k, v := range from {
		w, ok := to[k]
		switch {
		case !ok:
			keys.Removed = append(keys.Removed, k)
		case v != w:
			keys.Changed = append(keys.Changed, k)
		}
	}
	for k := range to {
		if _, ok := from[k]; !ok {
			keys.Added = append(keys.Added, k)
		}
	}
	if keys.Added == nil && keys.Removed == nil && keys.Changed == nil {
		return nil
	}
	sort.Strings(keys.Added)
	sort.Strings(keys.Removed)
	sort.Strings(keys.Changed)
	return &keys
}
