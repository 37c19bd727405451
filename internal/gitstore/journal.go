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

func (r *Repo) markPath() string { return filepath.Join(r.gitDir(), "kubesnap-worktree") }

// fromMark starts the content of the worktree mark a branch move leaves:
// "from <old head>". Open then redoes the update from that commit to HEAD.
const fromMark = "from "

// recover finishes a worktree update that a crash interrupted: files
// written ahead of a commit that never came (Stage), or a branch that moved
// before its files were written. It removes the files HEAD does not track
// in the folders kubesnap writes and resets the rest to HEAD; after a
// branch move by Pull or Push (the mark says "from <commit>") it writes
// the files that differ between that commit and HEAD. No person's
// edit can be lost here: kubesnap refuses to start over local edits or
// untracked files in those folders, so every difference is its own.
func (r *Repo) recover() error {
	if r.repo == nil {
		return nil
	}
	mark, err := os.ReadFile(r.markPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read worktree mark: %w", err)
	}
	checkedOut, err := r.checkedOut()
	if err != nil {
		return err
	}
	if checkedOut && strings.HasPrefix(string(mark), fromMark) {
		if err := r.recoverMove(string(mark)); err != nil {
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
	if err := os.Remove(r.markPath()); err != nil {
		return fmt.Errorf("clear worktree mark: %w", err)
	}
	return nil
}

// recoverMove finishes a branch move a crash interrupted: it writes the
// files that differ between the commit the mark names and HEAD. Files
// already written are written again, which is harmless.
func (r *Repo) recoverMove(mark string) error {
	from := plumbing.NewHash(strings.TrimSpace(strings.TrimPrefix(mark, fromMark)))
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
