package gitstore

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// moveBranch moves the branch from old (nil: the branch does not exist)
// to head. When the branch is checked out it first makes sure no local
// edit is in the way, then updates the files that differ between the two
// trees and their index entries.
func (r *Repo) moveBranch(old, head *object.Commit) error {
	checkedOut, err := r.checkedOut()
	if err != nil {
		return err
	}
	var changes object.Changes
	if checkedOut {
		defer r.doneWorkdir()
		if changes, err = r.treeChanges(old, head); err != nil {
			return err
		}
		if err := r.checkClean(changes); err != nil {
			return err
		}
		from := plumbing.ZeroHash
		if old != nil {
			from = old.Hash
		}
		if err := r.writeJournal(journalMovedFrom + from.String()); err != nil {
			return err
		}
	}
	var oldRef *plumbing.Reference
	if old != nil {
		oldRef = plumbing.NewHashReference(r.branch, old.Hash)
	}
	if err := r.setRef(plumbing.NewHashReference(r.branch, head.Hash), oldRef); err != nil {
		return fmt.Errorf("move %s to %s: %w", r.branch.Short(), head.Hash, err)
	}
	if !checkedOut {
		return nil
	}
	if err := r.checkout(changes); err != nil {
		return err
	}
	return r.clearJournal()
}

// treeChanges lists the files that differ between the trees of old and
// head (nil for none). Unchanged subtrees are compared by id, not read.
func (r *Repo) treeChanges(old, head *object.Commit) (object.Changes, error) {
	trees := [2]*object.Tree{{}, {}}
	for i, c := range []*object.Commit{old, head} {
		if c == nil {
			continue
		}
		t, err := c.Tree()
		if err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
		}
		trees[i] = t
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", head.Hash, err)
	}
	return changes, nil
}
