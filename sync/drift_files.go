package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// unsealedFile decrypts a stored file and returns it in canonical form,
// values kept, as a live object is rendered in the encrypt mode.
func unsealedFile(enc *canonical.Encoder, data []byte, unseal Unseal, facts canonical.Facts, secrets Secrets, t canonical.Type) ([]byte, error) {
	plain, err := unseal(data)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt: %w; give the right key with --age-identity or SOPS_AGE_KEY_FILE", err)
	}
	obj, err := canonical.Parse(plain)
	if err != nil {
		return nil, errors.New("decrypted, but not a valid object (details hidden: they may quote its values)")
	}
	facts.Protection = secrets.protection(t)
	canonical.Normalize(obj, facts)
	return enc.Marshal(obj)
}

// canonicalFile reads a stored file as canonical.ReadObject does (one
// object, the one its path names) and returns the object (normalized with
// facts, ready to dry-run) and its canonical bytes. A file encrypted in
// the sops format is read in its redacted form (sealed is true): the form
// the live object is compared in. managed, when set, is the live object's
// managedFields: the rules' manager rules remove from the file what those
// managers own live.
func canonicalFile(enc *canonical.Encoder, id canonical.ID, data []byte, facts canonical.Facts, secrets Secrets, managed any) (obj *unstructured.Unstructured, canon []byte, sealed bool, err error) {
	obj, sealed, err = canonical.ReadObject(id, data)
	if err != nil && secrets.sensitiveDirs()[id.ResourceDir()] {
		// The parser's message may quote the document, values and all.
		return nil, nil, false, errors.New("not a valid object (details hidden: they may quote its sensitive values)")
	}
	if err != nil {
		return nil, nil, false, err
	}
	t := canonical.Type{Group: id.Group, Resource: id.Resource, Kind: obj.GetKind()}
	facts.Protection = secrets.protection(t)
	if ann := obj.GetAnnotations(); len(secrets.Key) == 0 && ann[canonical.DigestAnnotation] != "" {
		// Without the key the live side has no digest: compare keys only.
		// (Decided without trusting the file's kubesnap.io/redacted.)
		delete(ann, canonical.DigestAnnotation)
		obj.SetAnnotations(ann)
	}
	if meta, ok := obj.Object["metadata"].(map[string]any); ok && managed != nil && len(facts.Rules) > 0 {
		meta["managedFields"] = managed
	}
	canonical.Normalize(obj, facts)
	canon, err = enc.Marshal(obj)
	if err != nil {
		return nil, nil, false, err
	}
	return obj, canon, sealed, nil
}

// checkPaths refuses a revision holding files under cluster/ or
// namespaces/ whose names are not ones kubesnap writes.
func checkPaths(ctx context.Context, rd Reader) error {
	files, err := rd.Files(ctx)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if _, bad := canonical.ObjectFiles(paths); len(bad) > 0 {
		return &BadFilesError{Lines: bad}
	}
	return nil
}
