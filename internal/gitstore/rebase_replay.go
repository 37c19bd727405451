package gitstore

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// edits lists the files c changed against its first parent, as writeTree
// takes them: repository path → new blob id, nil for deleted.
func (r *Repo) edits(c *object.Commit) (map[string]*plumbing.Hash, error) {
	after, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	before := &object.Tree{}
	if c.NumParents() > 0 {
		p, err := r.repo.CommitObject(c.ParentHashes[0])
		if err != nil {
			return nil, fmt.Errorf("read parent of %s: %w", c.Hash, err)
		}
		if before, err = p.Tree(); err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", p.Hash, err)
		}
	}
	changes, err := object.DiffTree(before, after)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	edits := map[string]*plumbing.Hash{}
	for _, ch := range changes {
		if ch.To.Name == "" {
			edits[ch.From.Name] = nil
			continue
		}
		if ch.From.Name != "" && ch.From.Name != ch.To.Name {
			edits[ch.From.Name] = nil
		}
		h := ch.To.TreeEntry.Hash
		edits[ch.To.Name] = &h
	}
	return edits, nil
}

// blobAt returns the id of the file p at c; zero when c is nil or has no
// such file.
func blobAt(c *object.Commit, p string) (plumbing.Hash, error) {
	if c == nil {
		return plumbing.ZeroHash, nil
	}
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	e, err := t.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s at %s: %w", p, c.Hash, err)
	}
	return e.Hash, nil
}
