package main

import (
	"fmt"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// lastAppliedAnnotation is kubectl apply's copy of an object: on a
// Secret it repeats every value.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// storedOpener turns a stored file into what history, show and blame
// read: a file in the sops format decrypted when an identity is given
// (core Secrets only, unless values are to be shown: another sensitive
// kind's values are shown whole once decrypted), else in its redacted
// form; any other file as it is.
type storedOpener struct {
	unseal      snapsync.Unseal
	showSecrets bool
	enc         canonical.Encoder
}

// newStoredOpener reads --age-identity (or SOPS_AGE_KEY_FILE).
func newStoredOpener(identity string, showSecrets bool) (*storedOpener, error) {
	unseal, err := unsealer(identity)
	if err != nil {
		return nil, err
	}
	if unseal != nil && !showSecrets {
		unseal = secretsOnly(unseal)
	}
	return &storedOpener{unseal: unseal, showSecrets: showSecrets}, nil
}

// open returns data as the commands read it, and whether it was
// encrypted. what names the file in an error.
func (o *storedOpener) open(what string, data []byte) ([]byte, bool, error) {
	red, _, ok := canonical.Sealed(data)
	switch {
	case !ok:
		return data, false, nil
	case o.unseal != nil:
		plain, err := o.unseal(data)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", what, err)
		}
		return plain, true, nil
	case o.showSecrets:
		return nil, true, usageError{fmt.Errorf("%s is encrypted: give --age-identity (or SOPS_AGE_KEY_FILE) to show its values", what)}
	}
	out, err := o.enc.Marshal(red)
	return out, true, err
}

// isSecretID reports whether id is a core Secret, whose values are hidden.
func isSecretID(id canonical.ID) bool {
	return id.Group == "" && id.Resource == "secrets"
}

// isSecretData reports whether data reads as a core Secret, wherever it
// is stored: a hostile repository may keep one in another type's folder.
func isSecretData(data []byte) bool {
	m, err := parseStored(data)
	if err != nil {
		return false
	}
	kind, _ := m["kind"].(string)
	api, _ := m["apiVersion"].(string)
	return kind == "Secret" && api == "v1"
}

// hideSecretValues returns the Secret in data with every value under
// data and stringData, and the last-applied annotation, replaced by
// diff.SameValue, as canonical YAML. A Secret that does not parse is an
// error that quotes none of it.
func hideSecretValues(what string, data []byte) ([]byte, error) {
	obj, err := canonical.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid Secret object (details hidden: they may quote its values)", what)
	}
	for _, field := range []string{"data", "stringData"} {
		v, ok := obj.Object[field]
		if !ok {
			continue
		}
		values, isMap := v.(map[string]any)
		if !isMap {
			obj.Object[field] = diff.SameValue // an odd shape is hidden whole
			continue
		}
		for k := range values {
			values[k] = diff.SameValue
		}
	}
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			if _, ok := ann[lastAppliedAnnotation]; ok {
				ann[lastAppliedAnnotation] = diff.SameValue
			}
		}
	}
	out, err := canonical.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: the Secret could not be redacted: its content is hidden", what)
	}
	return out, nil
}
