package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// managedDirs are the folders (below the prefix) whose files kubesnap
// writes; a file there that git does not track would be overwritten.
var managedDirs = []string{"cluster", "namespaces", ".kubesnap"}

// walkManaged calls fn with the repository path of every file in the
// folders kubesnap writes. A link there, or on the way there, is a
// *LinkError naming it: kubesnap would write through it.
func (r *Repo) walkManaged(w *workdir, fn func(name string) error) error {
	for _, d := range managedDirs {
		dir := r.full(d)
		root, release, err := w.folder(dir, false)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = fs.WalkDir(root.FS(), ".", func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := dir + "/" + p
			switch {
			case de.Type()&fs.ModeSymlink != 0:
				return &LinkError{Path: name, Where: "the worktree"}
			case de.IsDir():
				return nil
			}
			return fn(name)
		})
		release()
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
	tracked, err := r.tracked(c)
	if err != nil {
		return nil, err
	}
	w, err := r.workdir()
	if err != nil {
		return nil, err
	}
	defer r.doneWorkdir()
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
	for name, e := range tracked {
		if !regular(e.Mode) {
			continue // a link or submodule outside the prefix: not kubesnap's
		}
		changed, err := r.differs(name, e.Hash.String(), entries[name])
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, name)
		}
	}
	err = r.walkManaged(w, func(name string) error {
		if _, ok := tracked[name]; !ok && entries[name] == nil {
			edits = append(edits, name)
		}
		return nil
	})
	var link *LinkError
	if errors.As(err, &link) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("look for local edits: %w", err)
	}
	sort.Strings(edits)
	return edits, nil
}

// tracked lists the entries of c's tree, but folders, by repository
// path. A link or a submodule under the prefix is a *LinkError; elsewhere
// (another writer's folder, a README's link) it is listed, and left alone.
func (r *Repo) tracked(c *object.Commit) (map[string]object.TreeEntry, error) {
	out := map[string]object.TreeEntry{}
	if err := r.checkAbove(c, r.prefix); err != nil {
		return nil, err
	}
	err := r.walkTree(c, "", func(name string, e object.TreeEntry) error {
		if _, under := r.relative(name); under && !regular(e.Mode) {
			return &LinkError{Path: name, Submodule: e.Mode == filemode.Submodule, Where: "branch " + r.branch.Short()}
		}
		out[name] = e
		return nil
	})
	return out, err
}

// regular says m is a file's mode kubesnap reads and writes: not a link,
// not a submodule.
func regular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// differs reports whether the worktree file name differs from blob id. The
// index entry, when its stat data still matches the file, answers without
// reading the file. A link at name or on the way to it is a *LinkError.
func (r *Repo) differs(name, id string, e *index.Entry) (bool, error) {
	w, err := r.workdir()
	if err != nil {
		return false, err
	}
	fi, err := w.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		var link *LinkError
		if errors.As(err, &link) {
			return false, err
		}
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return false, &LinkError{Path: name, Where: "the worktree"}
	}
	if e != nil && e.Hash.String() == id && int64(e.Size) == fi.Size() && e.ModifiedAt.Equal(fi.ModTime()) {
		return false, nil
	}
	if !fi.Mode().IsRegular() {
		return true, nil
	}
	data, err := w.ReadFile(name)
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
		if err := r.resetWorktree(c); err != nil {
			return fmt.Errorf("recover worktree after an interrupted commit: %w", err)
		}
	}
	if err := os.Remove(r.markPath()); err != nil {
		return fmt.Errorf("clear worktree mark: %w", err)
	}
	return nil
}

// resetWorktree brings the worktree and the index back to c (nil: no
// commit yet): it removes the files c does not track in the folders
// kubesnap writes, writes back every regular file of c that differs, and
// drops the index entries c does not have. Links and submodules are
// neither followed nor made (see workdir.go).
func (r *Repo) resetWorktree(c *object.Commit) error {
	tracked := map[string]object.TreeEntry{}
	if c != nil {
		var err error
		if tracked, err = r.tracked(c); err != nil {
			return err
		}
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	defer r.doneWorkdir()
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	var untracked []string
	err = r.walkManaged(w, func(name string) error {
		if _, ok := tracked[name]; !ok {
			untracked = append(untracked, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	removed := map[string]bool{}
	for _, name := range untracked {
		if err := w.Remove(name); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		w.RemoveEmptyParents(path.Dir(name))
		removed[name] = true
	}
	entries := make(map[string]*index.Entry, len(idx.Entries))
	for _, e := range idx.Entries {
		entries[e.Name] = e
		if _, ok := tracked[e.Name]; !ok {
			removed[e.Name] = true
		}
	}
	var written []*index.Entry
	for name, te := range tracked {
		if !regular(te.Mode) {
			continue
		}
		e := entries[name]
		changed, err := r.differs(name, te.Hash.String(), e)
		if err != nil {
			return err
		}
		if !changed && e != nil && e.Hash == te.Hash {
			continue
		}
		data, err := r.blob(te.Hash)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		entry, err := checkoutFile(w, name, data, te)
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		written = append(written, entry)
	}
	return r.saveIndex(idx, mergeIndex(idx, written, removed))
}
