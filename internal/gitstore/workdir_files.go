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
	fi, err := w.writeNew(name, data, perm)
	if !errors.Is(err, fs.ErrExist) {
		return fi, err
	}
	d, base, release, err := w.file(name, true)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	return writeAndStat(f, data)
}

// writeAndStat writes data to f and returns f's stat data, and closes f.
func writeAndStat(f *os.File, data []byte) (fs.FileInfo, error) {
	if _, err := f.Write(data); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return fi, f.Close()
}

// writeNew writes name, which must not exist, making its folders; it
// fails with fs.ErrExist when something is there. It does not look at
// name first, as WriteFile's other path does: O_EXCL fails on anything
// there, a link included, without following it. A first snapshot writes
// every file so, one system call fewer for each.
func (w *workdir) writeNew(name string, data []byte, perm fs.FileMode) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir, base := split(name)
	d, release, err := w.folder(dir, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if f := w.folderFile(dir, d); f != nil {
		fi, err := createIn(f, base, data, perm)
		if err != nil {
			return nil, &fs.PathError{Op: "create", Path: name, Err: err}
		}
		return fi, nil
	}
	f, err := d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, err
	}
	return writeAndStat(f, data)
}

// folderFile returns the folder dir, d, opened as a file, kept until the
// workdir closes (createIn's folder), or nil where createIn is not used
// or the folder is not kept (see maxFolders).
func (w *workdir) folderFile(dir string, d *os.Root) *os.File {
	if !haveCreateIn {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.files[dir]; ok {
		return f
	}
	if w.dirs[dir] != d {
		return nil // opened for one use
	}
	f, err := d.Open(".")
	if err != nil {
		return nil // the other path reports what is wrong
	}
	if w.files == nil {
		w.files = map[string]*os.File{}
	}
	w.files[dir] = f
	return f
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
