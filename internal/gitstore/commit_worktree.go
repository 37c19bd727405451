package gitstore

import (
	"errors"
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"golang.org/x/sync/errgroup"
)

// worktreeWriters is how many files are written at once: writing is
// system calls, which overlap well even on two cores.
const worktreeWriters = 8

// updateWorktree writes the changed files and their index entries. Files
// are written in place: if we stop halfway, the journal Commit left makes the
// next Open reset the worktree to HEAD. With Options.IndexInBackground
// the index is written in the background, which then clears the journal
// (background is true).
func (r *Repo) updateWorktree(changes []snapsync.Change, ids map[string]*plumbing.Hash) (background bool, err error) {
	load := r.loadIndex
	if r.indexInBackground {
		load = r.loadCommitIndex
	}
	idx, err := load()
	if err != nil {
		return false, err
	}
	w, err := r.workdir()
	if err != nil {
		return false, err
	}
	ahead := r.takeEarly()
	written := make([]*index.Entry, len(changes))
	dirs := map[string]bool{}
	removed := map[string]bool{}
	for i, c := range changes {
		name := r.full(c.Path)
		if c.Op == snapsync.Deleted {
			if err := w.Remove(name); err != nil {
				return false, fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			removed[name] = true
			continue
		}
		if e := ahead[name]; e != nil && e.Hash == *ids[name] {
			written[i] = e // Stage wrote it already
			delete(ahead, name)
			continue
		}
		dirs[path.Dir(name)] = true
	}
	if err := r.undoEarly(w, ahead); err != nil {
		return false, err
	}
	for d := range dirs {
		_, release, err := w.folder(d, true)
		if err != nil {
			return false, fmt.Errorf("create folder %s: %w", d, err)
		}
		release()
	}
	data := make([][]byte, len(changes))
	for i, c := range changes {
		data[i] = c.Data
		if c.Op == snapsync.Deleted || written[i] != nil || c.Data != nil {
			continue
		}
		// Staged, but Stage could not write it: read back what the
		// commit stored (one at a time: go-git's reads share files).
		name := r.full(c.Path)
		if data[i], err = r.blobData(*ids[name]); err != nil {
			return false, fmt.Errorf("write %s: %w", name, err)
		}
	}
	var g errgroup.Group
	g.SetLimit(worktreeWriters)
	for i, c := range changes {
		if c.Op == snapsync.Deleted || written[i] != nil {
			continue
		}
		g.Go(func() error {
			name := r.full(c.Path)
			e, err := writeFile(w, name, data[i], *ids[name])
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			written[i] = e
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}

	m := mergeIndex(idx, written, removed)
	if r.indexInBackground {
		r.saveIndexInBackground(idx, m)
		return true, nil
	}
	return false, r.saveIndex(idx, m)
}

// undoEarly puts back files Stage wrote that the commit does not hold (a
// list restarted and found the object unchanged after all): the version at
// the new head, or no file.
func (r *Repo) undoEarly(w *workdir, files map[string]*index.Entry) error {
	if len(files) == 0 {
		return nil
	}
	head, err := r.head()
	if err != nil {
		return err
	}
	for name := range files {
		f, err := head.File(name)
		if errors.Is(err, object.ErrFileNotFound) {
			if err := w.Remove(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", name, head.Hash, err)
		}
		data, err := f.Contents()
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", name, head.Hash, err)
		}
		if _, err := w.WriteFile(name, []byte(data), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// writeFile writes one file through w and returns its index entry, with
// the stat data of the file as written.
func writeFile(w *workdir, name string, data []byte, id plumbing.Hash) (*index.Entry, error) {
	fi, err := w.WriteFile(name, data, 0o644)
	if err != nil {
		return nil, err
	}
	// The mtime may move on close on some file systems; git then rehashes
	// the file once, which costs time, not correctness.
	e := &index.Entry{Name: name, Hash: id, Mode: filemode.Regular, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
	fillStat(e, fi)
	return e, nil
}

// blobData reads the content of blob h.
func (r *Repo) blobData(h plumbing.Hash) ([]byte, error) {
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	data, err := readObject(obj)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}
