package gitstore

import (
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

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
