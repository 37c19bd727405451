package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// go-git moves a reference by truncating its file and writing the new id
// into it, unsynced: a reader in another process (git, kubesnap diff)
// may find the branch empty, and a SIGKILL between the two leaves
// "refs/heads/main: invalid sha1 pointer 0000…" for good, a repository
// with no HEAD. setRef moves it as git does instead: the new id is
// written and synced in <ref>.lock, created exclusively (so git itself
// waits for it, and kubesnap for git), the old id is checked under that
// lock, and the lock is renamed over the reference, which is atomic.

// staleRefLock is how old a <ref>.lock is before setRef takes it for one
// a killed writer left: git and kubesnap hold one for milliseconds.
const staleRefLock = 30 * time.Second

// setRef points ref at its id when the reference still points at old's
// (whatever it points at when old is nil), as CheckAndSetReference does,
// and fails with storage.ErrReferenceHasChanged when it does not.
func (r *Repo) setRef(ref, old *plumbing.Reference) error {
	st := r.repo.Storer
	if _, onDisk := st.(*filesystem.Storage); !onDisk {
		return st.CheckAndSetReference(ref, old)
	}
	return writeRef(r.gitDir(), st, ref, old)
}

func writeRef(gitDir string, st storer.ReferenceStorer, ref, old *plumbing.Reference) (err error) {
	if err := ref.Name().Validate(); err != nil {
		return fmt.Errorf("reference %q: %w", ref.Name(), err)
	}
	name := filepath.Join(gitDir, filepath.FromSlash(ref.Name().String()))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	lock := name + ".lock"
	f, err := createRefLock(lock)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()       // already failing; the lock goes below
			_ = os.Remove(lock) // best effort: a stray lock goes stale
		}
	}()
	if old != nil {
		cur, err := st.Reference(ref.Name())
		if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return err
		}
		if cur == nil || cur.Hash() != old.Hash() {
			return storage.ErrReferenceHasChanged
		}
	}
	if _, err := f.WriteString(ref.Hash().String() + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lock, name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

// createRefLock creates lock exclusively. A lock older than staleRefLock
// is one a killed writer left: it is removed and created again, once.
func createRefLock(lock string) (*os.File, error) {
	for try := 0; ; try++ {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			return f, err
		}
		fi, serr := os.Lstat(lock)
		if try > 0 || serr != nil || time.Since(fi.ModTime()) < staleRefLock {
			return nil, fmt.Errorf("%s exists: another process is moving this reference; if no git or kubesnap process runs on the repository, remove it", lock)
		}
		if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
}
