package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

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
