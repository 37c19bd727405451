package gitstore

import (
	"fmt"
	"sort"

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
	// Our commits on our first-parent line; a merge brings its other
	// parents' changes along in its diff against the first.
	var chain []*object.Commit
	fork := ours
	for fork != nil && w.flags[fork.Hash] == fromOurs {
		chain = append(chain, fork)
		if fork.NumParents() == 0 {
			fork = nil
			break
		}
		p := w.commits[fork.ParentHashes[0]]
		if p == nil {
			if p, err = r.repo.CommitObject(fork.ParentHashes[0]); err != nil {
				return false, nil, fmt.Errorf("read parent of %s: %w", fork.Hash, err)
			}
		}
		fork = p
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
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
	id, tree := remote.Hash, remote.TreeHash
	replaced := map[plumbing.Hash]plumbing.Hash{}
	touched := map[string]bool{}
	now := r.now()
	for _, c := range chain {
		edits, err := r.edits(c)
		if err != nil {
			return nil, err
		}
		for p := range edits {
			touched[p] = true
		}
		t, _, err := r.writeTree(st, tree, edits)
		if err != nil {
			return nil, err
		}
		if t == tree { // the remote has these changes already
			replaced[c.Hash] = id
			continue
		}
		committer := c.Committer
		committer.When = now.In(c.Committer.When.Location())
		commit := &object.Commit{Author: c.Author, Committer: committer, Message: c.Message, TreeHash: t, ParentHashes: []plumbing.Hash{id}}
		obj := &plumbing.MemoryObject{}
		if err := commit.Encode(obj); err != nil {
			return nil, fmt.Errorf("encode commit: %w", err)
		}
		st.objects[obj.Hash()] = obj
		id, tree = obj.Hash(), t
		replaced[c.Hash] = id
	}
	var conflicts []string
	for p := range touched {
		rel, ok := r.relative(p)
		if !ok {
			continue
		}
		before, err := blobAt(fork, p)
		if err != nil {
			return nil, err
		}
		after, err := blobAt(remote, p)
		if err != nil {
			return nil, err
		}
		if before != after {
			conflicts = append(conflicts, rel)
		}
	}
	sort.Strings(conflicts)
	if err := st.flush(); err != nil {
		return nil, err
	}
	head, err := r.repo.CommitObject(id)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", id, err)
	}
	if err := r.moveBranch(ours, head); err != nil {
		return nil, err
	}
	return conflicts, r.moveTags(replaced)
}
