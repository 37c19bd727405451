package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// managedDirs are the folders (below the prefix) whose files kubesnap
// writes; a file there that git does not track would be overwritten.
var managedDirs = []string{"cluster", "namespaces", ".kubesnap"}

// walkManaged calls fn for every file in the folders kubesnap writes, with
// its repository path and its path on disk.
func (r *Repo) walkManaged(fn func(name, file string) error) error {
	for _, d := range managedDirs {
		root := filepath.Join(r.dir, filepath.FromSlash(r.full(d)))
		err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			if err != nil || de.IsDir() {
				return err
			}
			rel, err := filepath.Rel(r.dir, p)
			if err != nil {
				return err
			}
			return fn(filepath.ToSlash(rel), p)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LocalEdits lists the files a person changed and did not commit: tracked
// files that differ from the branch head, staged changes, and untracked
// files in the folders kubesnap writes. kubesnap refuses to commit over
// them. It returns nothing when the branch is not checked out.
func (r *Repo) LocalEdits() ([]string, error) {
	checkedOut, err := r.checkedOut()
	if err != nil || !checkedOut {
		return nil, err
	}
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	tracked, err := r.files(c, "")
	if err != nil {
		return nil, err
	}
	idx, err := r.loadIndex()
	if err != nil {
		return nil, err
	}
	entries := make(map[string]*index.Entry, len(idx.Entries))
	var edits []string
	for _, e := range idx.Entries {
		entries[e.Name] = e
		if _, ok := tracked[e.Name]; !ok {
			edits = append(edits, e.Name) // staged new file
		}
	}
	for name, id := range tracked {
		changed, err := r.differs(name, id, entries[name])
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, name)
		}
	}
	err = r.walkManaged(func(name, file string) error {
		if _, ok := tracked[name]; !ok && entries[name] == nil {
			edits = append(edits, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for local edits: %w", err)
	}
	sort.Strings(edits)
	return edits, nil
}

// differs reports whether the worktree file name differs from blob id. The
// index entry, when its stat data still matches the file, answers without
// reading the file.
func (r *Repo) differs(name, id string, e *index.Entry) (bool, error) {
	file := filepath.Join(r.dir, filepath.FromSlash(name))
	fi, err := os.Lstat(file)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
	if e != nil && e.Hash.String() == id && int64(e.Size) == fi.Size() && e.ModifiedAt.Equal(fi.ModTime()) {
		return false, nil
	}
	if !fi.Mode().IsRegular() {
		return true, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data).String() != id, nil
}

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
		tracked, err := r.files(c, "")
		if err != nil {
			return err
		}
		err = r.walkManaged(func(name, file string) error {
			if _, ok := tracked[name]; !ok {
				return os.Remove(file)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("recover worktree after an interrupted commit: %w", err)
		}
		if c != nil {
			w, err := r.repo.Worktree()
			if err != nil {
				return fmt.Errorf("recover worktree: %w", err)
			}
			if err := w.Reset(&git.ResetOptions{Commit: c.Hash, Mode: git.HardReset}); err != nil {
				return fmt.Errorf("recover worktree after an interrupted commit: %w", err)
			}
		}
	}
	if err := os.Remove(r.markPath()); err != nil {
		return fmt.Errorf("clear worktree mark: %w", err)
	}
	return nil
}
