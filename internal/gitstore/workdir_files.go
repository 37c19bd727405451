package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
)

// split is name's folder and its base name.
func split(name string) (dir, base string) {
	dir, base = path.Split(name)
	return strings.TrimSuffix(dir, "/"), base
}

// Lstat describes the file name without following it. A missing folder on
// the way is fs.ErrNotExist; a link on the way is a *LinkError.
func (w *workdir) Lstat(name string) (fs.FileInfo, error) {
	dir, base := split(name)
	d, release, err := w.folder(dir, false)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.Lstat(base)
}

// file opens the folder of name and checks that name itself is a regular
// file, when it exists; release is the folder's.
func (w *workdir) file(name string, create bool) (d *os.Root, base string, release func(), err error) {
	if err := checkName(name); err != nil {
		return nil, "", nil, err
	}
	dir, base := split(name)
	d, release, err = w.folder(dir, create)
	if err != nil {
		return nil, "", nil, err
	}
	fi, err := d.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return d, base, release, nil
	case err != nil:
	case fi.Mode()&fs.ModeSymlink != 0:
		err = &LinkError{Path: name, Where: "the worktree"}
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s in the worktree is not a regular file: move it away", canonical.Shown(name))
	default:
		return d, base, release, nil
	}
	release()
	return nil, "", nil, err
}

// ReadFile returns the content of the regular file name.
func (w *workdir) ReadFile(name string) ([]byte, error) {
	d, base, release, err := w.file(name, false)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.ReadFile(base)
}

// WriteFile writes data to name, making its folders, and returns the
// file's stat data as written.
func (w *workdir) WriteFile(name string, data []byte, perm fs.FileMode) (fs.FileInfo, error) {
	f, err := w.createFile(name, perm)
	if errors.Is(err, fs.ErrExist) {
		f, err = w.truncateFile(name, perm)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return fi, f.Close()
}

// createFile creates name, which must not exist, making its folders. It
// does not look at name first, as truncateFile does: O_EXCL fails on
// anything there, a link included, without following it. A first
// snapshot writes every file so, one system call fewer for each.
func (w *workdir) createFile(name string, perm fs.FileMode) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir, base := split(name)
	d, release, err := w.folder(dir, true)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// truncateFile opens name for writing from its start, after checking
// that it is a regular file (see file).
func (w *workdir) truncateFile(name string, perm fs.FileMode) (*os.File, error) {
	d, base, release, err := w.file(name, true)
	if err != nil {
		return nil, err
	}
	defer release()
	return d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
}

// Symlink makes name a link to target, replacing a file or link of that
// name, and returns its stat data. Only checkouts of other writers' files
// make one: kubesnap never writes through it.
func (w *workdir) Symlink(target, name string) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir, base := split(name)
	d, release, err := w.folder(dir, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if fi, err := d.Lstat(base); err == nil && !fi.IsDir() {
		if err := d.Remove(base); err != nil {
			return nil, err
		}
	}
	if err := d.Symlink(target, base); err != nil {
		return nil, err
	}
	return d.Lstat(base)
}

// Chmod sets the permission bits of the regular file name.
func (w *workdir) Chmod(name string, perm fs.FileMode) error {
	d, base, release, err := w.file(name, false)
	if err != nil {
		return err
	}
	defer release()
	return d.Chmod(base, perm)
}

// Remove removes the file name, or the link of that name (not what it
// points to). A missing name is no error.
func (w *workdir) Remove(name string) error {
	return w.inParent(name, func(d *os.Root, base string) error {
		if err := d.Remove(base); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// RemoveAll removes name and what it holds; a link is removed, not
// followed. A missing name is no error.
func (w *workdir) RemoveAll(name string) error {
	return w.inParent(name, func(d *os.Root, base string) error {
		w.forget(name)
		return d.RemoveAll(base)
	})
}

// inParent calls fn with the folder that holds name, opened without
// following a link, and name's last segment; a missing folder is no
// error (there is nothing to remove).
func (w *workdir) inParent(name string, fn func(d *os.Root, base string) error) error {
	if err := checkName(name); err != nil {
		return err
	}
	dir, base := split(name)
	d, release, err := w.folder(dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer release()
	return fn(d, base)
}

// RemoveEmptyParents removes the folder dir and its parents while they
// are empty, up to the top.
func (w *workdir) RemoveEmptyParents(dir string) {
	for dir != "" && dir != "." {
		parentDir, base := split(dir)
		parent, release, err := w.folder(parentDir, false)
		if err != nil {
			return
		}
		fi, err := parent.Lstat(base)
		removed := err == nil && fi.IsDir() && parent.Remove(base) == nil // not empty, or gone
		release()
		if !removed {
			return
		}
		w.forget(dir)
		dir = parentDir
	}
}
