package restore

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// open reads a file as canonical.ReadObject does, and returns its object
// and content to apply: an encrypted file decrypted, without kubesnap's
// digest annotation (a restore does not apply it), or in its redacted
// form when there is no key (sealed is then true).
func open(enc *canonical.Encoder, id canonical.ID, data []byte, unseal Unseal) (obj *unstructured.Unstructured, out []byte, sealed bool, err error) {
	obj, sealed, err = canonical.ReadObject(id, data)
	if err != nil && id.Group == "" && id.Resource == "secrets" {
		// The parser's message may quote the document, values and all.
		err = errors.New("not a valid Secret object (details hidden: they may quote its values)")
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w; fix or remove the file", err)
	}
	switch {
	case !sealed:
		return obj, data, false, nil
	case unseal == nil:
		out, err = enc.Marshal(obj)
		return obj, out, true, err
	}
	plain, err := unseal(data)
	if err != nil {
		return nil, nil, false, fmt.Errorf("cannot decrypt: %w; give the right key with --age-identity or SOPS_AGE_KEY_FILE", err)
	}
	obj, err = canonical.Parse(plain)
	if err == nil {
		err = canonical.CheckObject(id, obj)
	}
	if err != nil {
		return nil, nil, false, errors.New("decrypted, but not a valid object (details hidden: they may quote its values)")
	}
	if ann := obj.GetAnnotations(); ann[canonical.DigestAnnotation] != "" {
		delete(ann, canonical.DigestAnnotation)
		obj.SetAnnotations(ann)
		if len(ann) == 0 {
			unstructured.RemoveNestedField(obj.Object, "metadata", "annotations")
		}
	}
	out, err = enc.Marshal(obj)
	return obj, out, false, err
}

// isCanonical says data is obj in canonical form, as kubesnap writes it.
func isCanonical(enc *canonical.Encoder, obj *unstructured.Unstructured, data []byte) bool {
	c := obj.DeepCopy()
	canonical.Normalize(c, keep)
	canon, err := enc.Marshal(c)
	return err == nil && bytes.Equal(canon, data)
}
