package gitstore

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// When the remote branch has commits we lack, ours are replayed on top of
// it, never merged and never forced over it:
//
//	paint ours from our head and theirs from the remote head, newest
//	commit first, until no commit only ours is left to walk
//	chain := ours-only commits on our first-parent line, oldest first
//	base := remote head
//	for c in chain:
//	    edits := files c changed against its first parent
//	    base := commit(tree of base with edits, parent base,
//	                   c's author and message, committed now)
//	conflicts := files the chain changed whose content at the fork point
//	             differs from the remote head's (both sides changed them;
//	             ours won)
//	move the branch, the worktree files that differ, the index, and the
//	local tags that pointed into the chain
//
// The walk, the tree edits and the worktree update each grow with the
// commits and files changed since the fork, not with the repository.

// integrate brings the branch up to the fetched remote head theirs:
// nothing when ours has it already, a fast-forward when ours is behind,
// a rebase when both moved. moved reports that the branch head changed.
func (r *Repo) integrate(theirs plumbing.Hash) (moved bool, conflicts []string, err error) {
	remote, err := r.repo.CommitObject(theirs)
	if err != nil {
		return false, nil, fmt.Errorf("read commit %s: %w", theirs, err)
	}
	ours, err := r.head()
	if err != nil {
		return false, nil, err
	}
	if ours != nil && ours.Hash == theirs {
		return false, nil, nil
	}
	// A link or a submodule the remote holds under the prefix is
	// refused before anything moves: replayed onto, it would have our
	// files written through it (see workdir.go).
	if _, err := r.files(remote, r.prefix); err != nil {
		return false, nil, err
	}
	if ours == nil {
		return true, nil, r.moveBranch(nil, remote)
	}
	w, err := r.paint(ours, theirs)
	if err != nil {
		return false, nil, err
	}
	switch {
	case w.flags[theirs]&fromOurs != 0: // we are ahead
		return false, nil, nil
	case w.flags[ours.Hash]&fromTheirs != 0: // we are behind
		return true, nil, r.moveBranch(ours, remote)
	}
	chain, fork, err := r.chain(w)
	if err != nil {
		return false, nil, err
	}
	conflicts, err = r.rebase(ours, remote, fork, chain)
	return true, conflicts, err
}

// rebase replays chain (oldest first, ending at ours) onto remote and
// moves the branch there; fork is the chain's first parent (nil for
// none). It returns the files, relative to the prefix, that both sides
// changed since fork.
func (r *Repo) rebase(ours, remote, fork *object.Commit, chain []*object.Commit) ([]string, error) {
	st := &staging{repo: r, objects: map[plumbing.Hash]plumbing.EncodedObject{}}
	re, err := r.replay(st, remote, chain)
	if err != nil {
		return nil, err
	}
	conflicts, err := r.conflicts(fork, remote, re.touched)
	if err != nil {
		return nil, err
	}
	if err := st.flush(); err != nil {
		return nil, err
	}
	head, err := r.repo.CommitObject(re.head)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", re.head, err)
	}
	if err := r.moveBranch(ours, head); err != nil {
		return nil, err
	}
	return conflicts, r.moveTags(re.replaced)
}
