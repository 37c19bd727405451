package gitstore

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Commit writes changes as one commit on the branch head: it stores the
// new blobs, rewrites only the trees on the changed paths, and moves the
// branch (refusing if someone else moved it meanwhile). When the branch is
// checked out it also brings the changed files and their index entries up
// to date, so that git status stays clean.
//
// With a base (Options.Base) the changes are relative to the base, not to
// the branch head, and Commit may make no commit: see commitOnBase.
func (r *Repo) Commit(ctx context.Context, changes []snapsync.Change, message string) (string, error) {
	return r.commit(changes, message, nil)
}

// CommitAs is Commit with author as the commit's author (the person or
// service account the API server's audit events name); the committer
// stays the repository's own identity. Both name and e-mail are made
// safe for a commit header: see signatureOf.
func (r *Repo) CommitAs(ctx context.Context, changes []snapsync.Change, message string, author snapsync.Author) (string, error) {
	sig := signatureOf(author)
	return r.commit(changes, message, &sig)
}

// commit is Commit, by author when it is set.
func (r *Repo) commit(changes []snapsync.Change, message string, author *object.Signature) (string, error) {
	// Every file Stage handed over is written before Commit returns,
	// whether it fails or not: none lands after the caller moves on.
	defer r.settleEarly()
	st := r.newStaging()
	defer st.release()
	st.author = author
	if r.base != nil {
		return r.commitOnBase(st, changes, message)
	}
	if err := r.create(); err != nil {
		return "", err
	}
	parent, err := r.head()
	if err != nil {
		return "", err
	}
	edits, err := st.changes(changes)
	if err != nil {
		return "", err
	}
	var base plumbing.Hash
	var parents []plumbing.Hash
	if parent != nil {
		base, parents = parent.TreeHash, []plumbing.Hash{parent.Hash}
	}
	tree, _, err := r.writeTree(st, base, edits)
	if err != nil {
		return "", err
	}
	id, err := r.newCommit(st, tree, parents, message)
	if err != nil {
		return "", err
	}
	if err := st.flush(); err != nil {
		return "", err
	}

	checkedOut, err := r.checkedOut()
	if err != nil {
		return "", err
	}
	if checkedOut {
		// If we stop between moving the branch and updating the files,
		// the next Open finds this journal and brings the worktree to HEAD.
		if err := r.writeCommitJournal(id.String()); err != nil {
			return "", err
		}
	}
	var old *plumbing.Reference
	if parent != nil {
		old = plumbing.NewHashReference(r.branch, parent.Hash)
	}
	if err := r.setRef(plumbing.NewHashReference(r.branch, id), old); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", r.branch.Short(), id, err)
	}
	if checkedOut {
		defer r.doneWorkdir()
		background, err := r.updateWorktree(changes, edits)
		if err != nil {
			return "", err
		}
		if !background {
			if err := r.clearJournal(); err != nil {
				return "", err
			}
		}
	}
	return id.String(), nil
}

// changes stages the blobs of changes and returns them as writeTree
// takes them: repository path → blob id, nil for deleted.
func (s *staging) changes(changes []snapsync.Change) (map[string]*plumbing.Hash, error) {
	edits := map[string]*plumbing.Hash{}
	for _, c := range changes {
		name := s.repo.full(c.Path)
		if c.Op == snapsync.Deleted {
			edits[name] = nil
			continue
		}
		h, err := s.blob(name, c.Data)
		if err != nil {
			return nil, err
		}
		edits[name] = &h
	}
	return edits, nil
}

// newCommit stages a commit of tree with parents and message, by the
// staging's author (else the repository's), committed by the repository's
// identity, made now, and returns its id.
func (r *Repo) newCommit(st *staging, tree plumbing.Hash, parents []plumbing.Hash, message string) (plumbing.Hash, error) {
	sig := r.author
	sig.When = r.now()
	author := sig
	if st.author != nil {
		author = *st.author
		author.When = sig.When
	}
	commit := &object.Commit{Author: author, Committer: sig, Message: message, TreeHash: tree, ParentHashes: parents}
	obj := &plumbing.MemoryObject{}
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	st.objects[obj.Hash()] = obj
	return obj.Hash(), nil
}
