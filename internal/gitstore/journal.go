package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The worktree journal is a file in the git folder that kubesnap writes
// before it changes files in the worktree, and removes once the worktree
// and the index match the branch head again. A crash in between leaves
// it, and the next Open (recover) finishes the update. Its one line says
// what was under way:
//
//	<commit id>       Commit moved the branch there and writes its files
//	staging           Stage writes files ahead of the next Commit
//	from <commit id>  Pull or Push moved the branch from that commit
//
// The file keeps the name it had before it was called a journal
// (kubesnap-worktree): a repository a crash left behind may hold it.
const journalFile = "kubesnap-worktree"

const (
	// journalStaging is the journal Stage leaves while it writes files
	// ahead of a Commit.
	journalStaging = "staging"
	// journalMovedFrom starts the journal a branch move leaves: "from
	// <old head>". Open then redoes the update from that commit to HEAD.
	journalMovedFrom = "from "
)

func (r *Repo) journalPath() string { return filepath.Join(r.gitDir(), journalFile) }

// writeJournal records entry, one line, before the worktree changes.
func (r *Repo) writeJournal(entry string) error {
	if err := r.waitIndex(); err != nil { // its end clears the journal
		return err
	}
	return r.putJournal(entry)
}

// writeCommitJournal is writeJournal for a commit: an index earlier
// commits left to write in the background is not written first but
// kept, for this commit to add its entries to (loadCommitIndex); the
// journal stays until it is written.
func (r *Repo) writeCommitJournal(id string) error {
	if err := r.claimIndex(); err != nil {
		return err
	}
	return r.putJournal(id)
}

// putJournal writes the journal's line.
func (r *Repo) putJournal(entry string) error {
	if err := os.WriteFile(r.journalPath(), []byte(entry+"\n"), 0o644); err != nil {
		return fmt.Errorf("write worktree journal: %w", err)
	}
	return nil
}

// clearJournal removes the journal: the worktree is at the branch head.
func (r *Repo) clearJournal() error {
	if err := r.waitIndex(); err != nil {
		return err
	}
	return r.removeJournal()
}

// removeJournal is clearJournal without waiting for the index.
func (r *Repo) removeJournal() error {
	if err := os.Remove(r.journalPath()); err != nil {
		return fmt.Errorf("clear worktree journal: %w", err)
	}
	return nil
}

// recover finishes a worktree update that a crash interrupted: files
// written ahead of a commit that never came (Stage), or a branch that moved
// before its files were written. It removes the files HEAD does not track
// in the folders kubesnap writes and resets the rest to HEAD; after a
// branch move by Pull or Push (the journal says "from <commit>") it writes
// the files that differ between that commit and HEAD. No person's
// edit can be lost here: kubesnap refuses to start over local edits or
// untracked files in those folders, so every difference is its own.
func (r *Repo) recover() error {
	if r.repo == nil {
		return nil
	}
	journal, err := os.ReadFile(r.journalPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read worktree journal: %w", err)
	}
	checkedOut, err := r.checkedOut()
	if err != nil {
		return err
	}
	if checkedOut && strings.HasPrefix(string(journal), journalMovedFrom) {
		if err := r.recoverMove(string(journal)); err != nil {
			return err
		}
	} else if checkedOut {
		c, err := r.head()
		if err != nil {
			return err
		}
		if err := r.resetWorktree(c); err != nil {
			return fmt.Errorf("recover worktree after an interrupted commit: %w", err)
		}
	}
	return r.clearJournal()
}

// recoverMove finishes a branch move a crash interrupted: it writes the
// files that differ between the commit the journal names and HEAD. Files
// already written are written again, which is harmless.
func (r *Repo) recoverMove(journal string) error {
	from := plumbing.NewHash(strings.TrimSpace(strings.TrimPrefix(journal, journalMovedFrom)))
	var old *object.Commit
	if !from.IsZero() {
		c, err := r.repo.CommitObject(from)
		if err != nil {
			return fmt.Errorf("recover worktree: read commit %s: %w", from, err)
		}
		old = c
	}
	head, err := r.head()
	if err != nil {
		return err
	}
	if head == nil {
		return nil
	}
	changes, err := r.treeChanges(old, head)
	if err != nil {
		return err
	}
	if err := r.checkout(changes); err != nil {
		return fmt.Errorf("recover worktree after an interrupted pull: %w", err)
	}
	return nil
}
