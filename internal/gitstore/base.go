package gitstore

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// A drift branch holds the live cluster on top of a reviewed revision, the
// base (Options.Base), so that a pull request from the branch into the
// base shows exactly the drift. Files and Read give the base's tree, so
// the changes a snapshot finds are the drift from the base, and a commit
// is written as:
//
//	tree := the base's tree with the changes
//	head := the branch head (none when the branch does not exist)
//	if no head:  tree == base's → no commit; else parents := [base]
//	else if head has base (base is an ancestor of head):
//	             tree == head's → no commit; else parents := [head]
//	else:        parents := [head, base], even when tree == head's
//
// The head is always the first parent, so the branch only moves forward
// (a push never needs force, and reviewers' comments stay on its
// history). The base is always an ancestor of the new commit, so the
// merge base of base and branch is the base itself, and `git diff
// base...branch`, what a pull request shows, is the new tree against the
// base's: the drift and nothing else, even after the base moved on.
// Neither the worktree nor the index is touched: the branch must not be
// the one checked out.

// setBase resolves rev as the base of the branch's drift commits.
func (r *Repo) setBase(rev string) error {
	checkedOut, err := r.checkedOut()
	if err != nil {
		return err
	}
	if checkedOut {
		return fmt.Errorf("--base: branch %s is checked out in %s, and drift commits are written without touching the worktree: give --branch another branch (drift/<cluster>)", r.branch.Short(), r.dir)
	}
	v, err := r.At(rev)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	r.base = v
	return nil
}

// Base is the revision the branch records drift from (Options.Base), nil
// when there is none.
func (r *Repo) Base() *Revision { return r.base }

// commitOnBase writes changes, relative to the base, as a commit on the
// branch, as the comment above says. It returns "" when it made no commit.
func (r *Repo) commitOnBase(st *staging, changes []snapsync.Change, message string) (string, error) {
	head, err := r.head()
	if err != nil {
		return "", err
	}
	base := r.base.commit
	edits, err := st.changes(changes)
	if err != nil {
		return "", err
	}
	tree, _, err := r.writeTree(st, base.TreeHash, edits)
	if err != nil {
		return "", err
	}
	parents := []plumbing.Hash{base.Hash}
	same := head == nil && tree == base.TreeHash
	if head != nil {
		has, err := r.reaches(head, base.Hash)
		if err != nil {
			return "", err
		}
		// A head with the same tree that lacks the base still needs the
		// merge: without it the merge base stays an older base, and the
		// pull request shows changes the base has taken since.
		same = has && tree == head.TreeHash
		parents = []plumbing.Hash{head.Hash}
		if !has {
			parents = append(parents, base.Hash)
		}
	}
	if same {
		return "", nil // Commit's release drops what Stage prepared
	}
	id, err := r.newCommit(st, tree, parents, message)
	if err != nil {
		return "", err
	}
	if err := st.flush(); err != nil {
		return "", err
	}
	var old *plumbing.Reference
	if head != nil {
		old = plumbing.NewHashReference(r.branch, head.Hash)
	}
	if err := r.setRef(plumbing.NewHashReference(r.branch, id), old); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", r.branch.Short(), id, err)
	}
	return id.String(), nil
}

// reaches reports whether c is reachable from head. It walks only the
// commits since the two histories met (see paint); with committer clocks
// skewed by more than clockSkew it may answer false for a commit head
// has, which costs one redundant merge commit (whose parent the base
// then is), never a wrong diff.
func (r *Repo) reaches(head *object.Commit, c plumbing.Hash) (bool, error) {
	if head.Hash == c {
		return true, nil
	}
	w, err := r.paint(head, c)
	if err != nil {
		return false, err
	}
	return w.flags[c]&fromOurs != 0, nil
}
