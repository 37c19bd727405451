package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// workdir is the worktree as kubesnap touches it. It remembers the
// folders it checked, each opened as an os.Root, until closed: a Commit
// or a checkout opens one and closes it at its end, so that each checks
// the folders again.
type workdir struct {
	mu   gosync.Mutex
	dirs map[string]*os.Root // repository path of a checked folder ("" the top) → it
	// files are folders of dirs opened as files, for createIn.
	files map[string]*os.File
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
	for _, f := range w.files {
		errs = append(errs, f.Close())
	}
	w.dirs, w.files = nil, nil
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
	for k, f := range w.files {
		if k == dir || strings.HasPrefix(k, dir+"/") {
			_ = f.Close() // as above
			delete(w.files, k)
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
