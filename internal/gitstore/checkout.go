package gitstore

import (
	"fmt"
	"io"
	"os"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
	"golang.org/x/sync/errgroup"
)

// checkout writes the changed files into the worktree and updates their
// index entries: deletions first, so a file may replace a folder and a
// folder a file.
func (r *Repo) checkout(changes object.Changes) error {
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	defer r.doneWorkdir()
	removed := map[string]bool{}
	var writes []object.ChangeEntry
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return fmt.Errorf("update worktree: %w", err)
		}
		if err := r.checkLink(ch.To, "the branch"); err != nil {
			return err // moveBranch refused it already; this is a recovery
		}
		if ch.From.Name != "" && (action == merkletrie.Delete || ch.From.Name != ch.To.Name) {
			name := ch.From.Name
			if err := w.RemoveAll(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			removed[name] = true
		}
		if action != merkletrie.Delete {
			if ch.From.TreeEntry.Mode == filemode.Symlink || ch.From.TreeEntry.Mode == filemode.Submodule {
				if err := w.RemoveAll(ch.From.Name); err != nil {
					return fmt.Errorf("remove %s: %w", ch.From.Name, err)
				}
			}
			writes = append(writes, ch.To)
			delete(removed, ch.To.Name)
		}
	}
	written := make([]*index.Entry, len(writes))
	var g errgroup.Group
	g.SetLimit(worktreeWriters)
	var failed error
	for i, e := range writes {
		_, release, err := w.folder(path.Dir(e.Name), true)
		if err != nil {
			failed = fmt.Errorf("create folder for %s: %w", e.Name, err)
			break
		}
		release()
		if e.TreeEntry.Mode == filemode.Submodule {
			_, release, err := w.folder(e.Name, true)
			if err != nil {
				failed = fmt.Errorf("create folder %s: %w", e.Name, err)
				break
			}
			release()
			written[i] = &index.Entry{Name: e.Name, Hash: e.TreeEntry.Hash, Mode: filemode.Submodule}
			continue
		}
		// Read here, one blob at a time; the writes overlap.
		data, err := r.blob(e.TreeEntry.Hash)
		if err != nil {
			failed = fmt.Errorf("read %s: %w", e.Name, err)
			break
		}
		g.Go(func() error {
			entry, err := checkoutFile(w, e.Name, data, e.TreeEntry)
			if err != nil {
				return fmt.Errorf("write %s: %w", e.Name, err)
			}
			written[i] = entry
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return r.saveIndex(idx, mergeIndex(idx, written, removed))
}

// blob returns the content of blob h.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	b, err := r.repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rd)
	if cerr := rd.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// checkoutFile writes one file of mode e.Mode through w and returns its
// index entry. A link is made, never followed (checkLink allowed it).
func checkoutFile(w *workdir, name string, data []byte, e object.TreeEntry) (*index.Entry, error) {
	if e.Mode == filemode.Symlink {
		fi, err := w.Symlink(string(data), name)
		if err != nil {
			return nil, err
		}
		entry := &index.Entry{Name: name, Hash: e.Hash, Mode: filemode.Symlink, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
		fillStat(entry, fi)
		return entry, nil
	}
	entry, err := writeFile(w, name, data, e.Hash)
	if err != nil {
		return nil, err
	}
	perm := os.FileMode(0o644)
	if e.Mode == filemode.Executable {
		perm = 0o755
	}
	fi, err := w.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o111 != perm&0o111 {
		if err := w.Chmod(name, perm); err != nil {
			return nil, err
		}
		if fi, err = w.Lstat(name); err != nil {
			return nil, err
		}
		entry.ModifiedAt = fi.ModTime()
		fillStat(entry, fi)
	}
	if e.Mode == filemode.Executable {
		entry.Mode = filemode.Executable
	}
	return entry, nil
}
