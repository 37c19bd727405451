package gitstore

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Pull, Push and the tag calls speak git's protocol through go-git's
// transports, but choose what to send and fetch themselves: go-git's own
// push walks every object reachable from every remote ref to find what
// the remote lacks, which grows with the repository. Here the objects
// sent are those of our commits the remote lacks, each compared with its
// parent (see collect), so a push costs what it changed.

// collect lists the objects of the commits only ours has: each commit,
// and the trees and blobs it has that its first parent has not. The
// remote has the rest, since it has every commit not only ours.
func (r *Repo) collect(w *walk) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	for _, c := range w.onlyOurs() {
		out = append(out, c.Hash)
		tree, err := c.Tree()
		if err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
		}
		var base *object.Tree
		if c.NumParents() > 0 {
			p, err := r.repo.CommitObject(c.ParentHashes[0])
			if err != nil {
				return nil, fmt.Errorf("read parent of %s: %w", c.Hash, err)
			}
			if base, err = p.Tree(); err != nil {
				return nil, fmt.Errorf("read tree of %s: %w", p.Hash, err)
			}
		}
		if err := r.newObjects(tree, base, seen, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newObjects appends t and the trees and blobs below it that base (nil
// for none) does not hold at the same place.
func (r *Repo) newObjects(t, base *object.Tree, seen map[plumbing.Hash]bool, out *[]plumbing.Hash) error {
	if (base != nil && base.Hash == t.Hash) || seen[t.Hash] {
		return nil
	}
	seen[t.Hash] = true
	*out = append(*out, t.Hash)
	old := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			old[e.Name] = e
		}
	}
	for _, e := range t.Entries {
		o, had := old[e.Name]
		if had && o.Hash == e.Hash && o.Mode == e.Mode {
			continue
		}
		switch e.Mode {
		case filemode.Submodule: // a commit of another repository
		case filemode.Dir:
			sub, err := r.repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", e.Hash, err)
			}
			var subBase *object.Tree
			if had && o.Mode == filemode.Dir {
				if subBase, err = r.repo.TreeObject(o.Hash); err != nil {
					return fmt.Errorf("read tree %s: %w", o.Hash, err)
				}
			}
			if err := r.newObjects(sub, subBase, seen, out); err != nil {
				return err
			}
		default:
			if !seen[e.Hash] {
				seen[e.Hash] = true
				*out = append(*out, e.Hash)
			}
		}
	}
	return nil
}
