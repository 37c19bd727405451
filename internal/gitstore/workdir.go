package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
)

// The worktree is written by kubesnap, but anyone may have made its
// folders: a person with a shell on the host, or anyone who can push to
// the remote (a rebase checks their files out). A symbolic link there,
// "namespaces -> /etc", would have kubesnap write, overwrite and delete
// files outside the repository. So every file kubesnap writes, removes
// or reads in the worktree goes through a workdir: the repository is an
// os.Root, which no path can leave (not "..", not a link), and each
// folder on the way is checked to be a real folder, so that no link is
// followed even inside the repository; kubesnap never makes a link
// either. A link or a submodule met on the way is refused with an error
// naming it (LinkError).

// LinkError says a path kubesnap must write or read is a symbolic link
// or a submodule, in the worktree or in a revision, which it refuses to
// follow.
type LinkError struct {
	Path string // repository path
	// Submodule is set for a gitlink (mode 160000) in a revision.
	Submodule bool
	// Where is "the worktree" or the revision's name.
	Where string
}

func (e *LinkError) Error() string {
	what := "a symbolic link"
	if e.Submodule {
		what = "a submodule"
	}
	name := canonical.Shown(e.Path)
	fix := "remove it from the branch (git rm " + name + ", commit, push)"
	if e.Where == "the worktree" {
		fix = "remove it"
	}
	return fmt.Sprintf("%s in %s is %s: kubesnap reads and writes only regular files and folders inside the repository, and never follows a link; %s and run again", name, e.Where, what, fix)
}

// checkName refuses a repository path kubesnap must not write: one with
// an empty, "." or ".." segment (leaving its folder), or a ".git" one
// (git's own files: hooks run code).
func checkName(name string) error {
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, ".git") {
			return fmt.Errorf("%q is not a path kubesnap writes in a worktree", name) // %q: never raw
		}
	}
	return nil
}

// workdir is the worktree as kubesnap touches it. It remembers the
// folders it checked, each opened as an os.Root, until closed: a Commit
// or a checkout opens one and closes it at its end, so that each checks
// the folders again.
type workdir struct {
	mu   gosync.Mutex
	dirs map[string]*os.Root // repository path of a checked folder ("" the top) → it
}

// openWorkdir opens the worktree at dir.
func openWorkdir(dir string) (*workdir, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open worktree %s: %w", dir, err)
	}
	return &workdir{dirs: map[string]*os.Root{"": root}}, nil
}

// Close closes the folders it opened.
func (w *workdir) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, d := range w.dirs {
		errs = append(errs, d.Close())
	}
	w.dirs = nil
	return errors.Join(errs...)
}

// maxFolders bounds the folders a workdir keeps open: one file
// descriptor each. Beyond it, a folder is opened for one use.
const maxFolders = 512

// folder returns the folder dir (a repository path, "" for the top),
// after checking that it and every folder above it is a real folder, and
// release, to call when done with it. With create it makes the missing
// ones; without, a missing one is fs.ErrNotExist.
func (w *workdir) folder(dir string, create bool) (d *os.Root, release func(), err error) {
	if dir == "." { // path.Dir of a file at the top
		dir = ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	d, owned, err := w.folderLocked(dir, create)
	if err != nil {
		return nil, nil, err
	}
	if owned {
		return d, func() { _ = d.Close() }, nil // opened to read or write through
	}
	return d, func() {}, nil
}

// folderLocked is folder; owned says d is not kept, and the caller must
// close it.
func (w *workdir) folderLocked(dir string, create bool) (d *os.Root, owned bool, err error) {
	if d, ok := w.dirs[dir]; ok {
		return d, false, nil
	}
	if w.dirs == nil {
		return nil, false, errors.New("worktree closed")
	}
	if err := checkName(dir); err != nil {
		return nil, false, err
	}
	parentDir, base := "", dir
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		parentDir, base = dir[:i], dir[i+1:]
	}
	parent, parentOwned, err := w.folderLocked(parentDir, create)
	if err != nil {
		return nil, false, err
	}
	if parentOwned {
		defer func() { _ = parent.Close() }() // a folder only read: nothing to report
	}
	fi, err := parent.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err = parent.Mkdir(base, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
			fi, err = parent.Lstat(base)
		}
	}
	if err != nil {
		return nil, false, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, false, &LinkError{Path: dir, Where: "the worktree"}
	case !fi.IsDir():
		return nil, false, fmt.Errorf("%s in the worktree is a file where kubesnap keeps a folder: move it away", canonical.Shown(dir))
	}
	if d, err = parent.OpenRoot(base); err != nil {
		return nil, false, err
	}
	if len(w.dirs) >= maxFolders {
		return d, true, nil
	}
	w.dirs[dir] = d
	return d, false, nil
}

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
	d, base, release, err := w.file(name, true)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
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

// forget closes and drops the folders checked at or below dir, which is
// being removed.
func (w *workdir) forget(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, d := range w.dirs {
		if k == dir || strings.HasPrefix(k, dir+"/") {
			_ = d.Close() // a folder only read through: nothing is lost
			delete(w.dirs, k)
		}
	}
}

// workdir returns the worktree as the current operation writes it,
// opening it on first use; doneWorkdir closes it.
func (r *Repo) workdir() (*workdir, error) {
	r.workMu.Lock()
	defer r.workMu.Unlock()
	if r.work == nil {
		w, err := openWorkdir(r.dir)
		if err != nil {
			return nil, err
		}
		r.work = w
	}
	return r.work, nil
}

// doneWorkdir closes the worktree an operation opened, so that the next
// checks its folders again.
func (r *Repo) doneWorkdir() {
	r.workMu.Lock()
	defer r.workMu.Unlock()
	if r.work != nil {
		_ = r.work.Close() // folders opened to write through: closing loses nothing
		r.work = nil
	}
}
