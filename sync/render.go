package sync

import (
	"fmt"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// objectFile is one live object as the repository holds it: its file.
type objectFile struct {
	id      canonical.ID
	path    string
	data    []byte
	manager string
	// cmp, when set, is what the repository's file is compared in (the
	// redacted form of an object whose data must be sealed with the
	// encrypted_regex seal).
	cmp  []byte
	seal string
	// managed is the live object's metadata.managedFields, as read before
	// Normalize dropped it.
	managed any
}

// compared returns the bytes r is compared with the repository in.
func (r objectFile) compared() []byte {
	if r.cmp != nil {
		return r.cmp
	}
	return r.data
}

// render normalizes and marshals obj of type t with enc. ok is false for objects
// out of scope of f or skipped by default. s says what becomes of its
// sensitive values; in the encrypt mode an object that has some is made
// ready to seal (see sealable).
func render(enc *canonical.Encoder, t canonical.Type, obj *unstructured.Unstructured, facts canonical.Facts, f canonical.Filter, s Secrets) (r objectFile, ok bool, err error) {
	if _, skip := canonical.SkipObject(obj); skip {
		return r, false, nil
	}
	r.id = t.ID(obj.GetNamespace(), obj.GetName())
	if !f.ID(r.id) || !f.Labels(obj.GetLabels()) {
		return r, false, nil
	}
	r.path = canonical.PathOf(r.id)
	facts.Protection = s.protection(t)
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		r.managed = meta["managedFields"]
	}
	r.manager = canonical.Normalize(obj, facts).Manager
	r.data, err = enc.Marshal(obj)
	if err != nil {
		return r, false, fmt.Errorf("marshal %s: %w", r.path, err)
	}
	if s.mode() == SecretsEncrypt {
		if err := r.sealable(enc, obj, facts.Protection); err != nil {
			return r, false, err
		}
	}
	return r, true, nil
}
