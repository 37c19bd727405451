package gitstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
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
// first parent (nil: none). Unchanged subtrees are compared by id, not
// read.
func (r *Repo) changed(c, parent *object.Commit) (int, error) {
	after, err := r.subtree(c, r.prefix)
	if err != nil {
		return 0, err
	}
	before, err := r.subtree(parent, r.prefix)
	if err != nil {
		return 0, err
	}
	if before == nil && after == nil {
		return 0, nil
	}
	if before == nil {
		before = &object.Tree{}
	}
	if after == nil {
		after = &object.Tree{}
	}
	changes, err := object.DiffTree(before, after)
	if err != nil {
		return 0, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	n := 0
	for _, ch := range changes {
		name := ch.To.Name
		if name == "" {
			name = ch.From.Name
		}
		// kubesnap's own files, also those of a cluster in a folder
		// below (no object's path has a .kubesnap folder).
		if !strings.HasPrefix(name, ".kubesnap/") && !strings.Contains(name, "/.kubesnap/") {
			n++
		}
	}
	return n, nil
}
