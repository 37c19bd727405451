package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
)

// Unseal decrypts a file in the sops format, returning the plain file.
type Unseal func(data []byte) ([]byte, error)

// CompareRevisions compares the files of two revisions object by object,
// for the objects in scope of f; no cluster is needed. With a selector, an
// object is in scope when its labels match on either side. Encrypted files
// (sops format) are decrypted with unseal when it is given, and compared in
// their redacted form otherwise: a Secret encrypted again for other
// recipients is no change, and a changed value shows in the digest.
func CompareRevisions(ctx context.Context, a, b Reader, f canonical.Filter, unseal Unseal) (compared int, out []Drifted, err error) {
	enc := new(canonical.Encoder)
	fa, err := a.Files(ctx)
	if err != nil {
		return 0, nil, err
	}
	fb, err := b.Files(ctx)
	if err != nil {
		return 0, nil, err
	}
	paths := map[string]bool{}
	var all []string
	for _, files := range []map[string]string{fa, fb} {
		for p := range files {
			if !paths[p] {
				paths[p] = true
				all = append(all, p)
			}
		}
	}
	sort.Strings(all)
	ids, bad := canonical.ObjectFiles(all)
	for _, p := range all {
		id, ok := ids[p]
		if !ok || !f.ID(id) {
			continue // not an object file, or out of scope
		}
		same := fa[p] == fb[p]
		if same && f.Selector == nil {
			compared++
			continue
		}
		d := Drifted{ID: id, Path: p}
		if fa[p] != "" {
			if d.From, err = a.Read(ctx, p); err != nil {
				return 0, nil, err
			}
		}
		if fb[p] != "" {
			if d.To, err = b.Read(ctx, p); err != nil {
				return 0, nil, err
			}
		}
		if line := checkFiles(id, p, d.From, d.To); line != "" {
			bad = append(bad, line)
			continue
		}
		if f.Selector != nil && !labelsMatch(f, d.From) && !labelsMatch(f, d.To) {
			continue
		}
		compared++
		if same {
			continue
		}
		var sealedFrom, sealedTo bool
		if d.From, sealedFrom, err = openSealed(enc, p, d.From, unseal); err != nil {
			return 0, nil, err
		}
		if d.To, sealedTo, err = openSealed(enc, p, d.To, unseal); err != nil {
			return 0, nil, err
		}
		if bytes.Equal(d.From, d.To) {
			continue // encrypted again, same content
		}
		if (sealedFrom || sealedTo) && unseal == nil {
			d.Note = "encrypted in git: compared without its values (a changed value shows in kubesnap.io/digest); give --age-identity to compare them"
		}
		out = append(out, d)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return 0, nil, &BadFilesError{Lines: bad}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return compared, out, nil
}

// checkFiles says why either side's file of object id at p is refused, as
// canonical.ReadObject says it; "" when both are read (or absent).
func checkFiles(id canonical.ID, p string, sides ...[]byte) string {
	for _, data := range sides {
		if data == nil {
			continue
		}
		if _, _, err := canonical.ReadObject(id, data); err != nil {
			if id.Group == "" && id.Resource == "secrets" {
				// The parser's message may quote the document, values and all.
				err = errors.New("not a valid Secret object (details hidden: they may quote its values)")
			}
			return fmt.Sprintf("%s: %v; fix or remove the file", p, err)
		}
	}
	return ""
}

// openSealed returns data decrypted with unseal, or in its redacted form
// without it, when data is a file in the sops format; other files as they
// are. sealed says whether it was.
func openSealed(enc *canonical.Encoder, path string, data []byte, unseal Unseal) (out []byte, sealed bool, err error) {
	if data == nil {
		return nil, false, nil
	}
	red, _, ok := canonical.Sealed(data)
	switch {
	case !ok:
		return data, false, nil
	case unseal != nil:
		plain, err := unseal(data)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", path, err)
		}
		return plain, true, nil
	}
	out, err = enc.Marshal(red)
	return out, true, err
}

// labelsMatch reports whether the object in data matches f's selector; a
// file that does not parse matches nothing.
func labelsMatch(f canonical.Filter, data []byte) bool {
	if data == nil {
		return false
	}
	obj, err := canonical.Parse(data)
	return err == nil && f.Labels(obj.GetLabels())
}
