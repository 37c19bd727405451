package gitstore

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// sameFolder reports whether the prefix folder has the same id in c and
// in parent (nil: none), so that c changed nothing below it. Only the
// trees on the way to the folder are read, not the folder.
func (r *Repo) sameFolder(c, parent *object.Commit) (bool, error) {
	a, err := r.folderID(c)
	if err != nil {
		return false, err
	}
	b, err := r.folderID(parent)
	if err != nil {
		return false, err
	}
	return a == b, nil
}

// folderID is the id of the prefix folder in c, zero when c is nil or has
// no such folder.
func (r *Repo) folderID(c *object.Commit) (plumbing.Hash, error) {
	if c == nil {
		return plumbing.ZeroHash, nil
	}
	if r.prefix == "" {
		return c.TreeHash, nil
	}
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	e, err := t.FindEntry(r.prefix)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s at %s: %w", r.prefix, c.Hash, err)
	}
	return e.Hash, nil
}

// changed counts object files below the prefix that c changed against its
// first parent (nil: none): the files whose id or mode differ, kubesnap's
// own (.kubesnap folders) aside. Folders with the same id are not read.
func (r *Repo) changed(c, parent *object.Commit) (int, error) {
	after, err := r.subtree(c, r.prefix)
	if err != nil {
		return 0, err
	}
	before, err := r.subtree(parent, r.prefix)
	if err != nil {
		return 0, err
	}
	n, err := r.countDiff(before, after)
	if err != nil {
		return 0, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	return n, nil
}

// countDiff counts the files that differ between the trees a and b (nil:
// empty).
func (r *Repo) countDiff(a, b *object.Tree) (int, error) {
	before := map[string]*object.TreeEntry{}
	if a != nil {
		for i := range a.Entries {
			before[a.Entries[i].Name] = &a.Entries[i]
		}
	}
	n := 0
	if b != nil {
		for i := range b.Entries {
			e := &b.Entries[i]
			old := before[e.Name]
			delete(before, e.Name)
			if old != nil && old.Hash == e.Hash && old.Mode == e.Mode {
				continue
			}
			k, err := r.countEntries(old, e)
			if err != nil {
				return 0, err
			}
			n += k
		}
	}
	for _, old := range before {
		k, err := r.countEntries(old, nil)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// countEntries counts the files that differ between two entries of the
// same name (nil: none), which differ.
func (r *Repo) countEntries(a, b *object.TreeEntry) (int, error) {
	isDir := func(e *object.TreeEntry) bool { return e != nil && e.Mode == filemode.Dir }
	if (isDir(a) || isDir(b)) && (a == nil || a.Name == ".kubesnap") && (b == nil || b.Name == ".kubesnap") {
		return 0, nil // kubesnap's own files, also a cluster's in a folder below
	}
	n := 0
	var ta, tb *object.Tree
	var err error
	for _, side := range []struct {
		e *object.TreeEntry
		t **object.Tree
	}{{a, &ta}, {b, &tb}} {
		switch {
		case isDir(side.e):
			if *side.t, err = r.repo.TreeObject(side.e.Hash); err != nil {
				return 0, err
			}
		case side.e != nil:
			n = 1 // a file, changed, added, deleted, or where a folder was
		}
	}
	if ta == nil && tb == nil {
		return n, nil
	}
	k, err := r.countDiff(ta, tb)
	return n + k, err
}
