package gitstore

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// checkClean refuses to update files a person changed: each file about
// to change must be as the old tree has it, or absent if it had none.
func (r *Repo) checkClean(changes object.Changes) error {
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	for _, ch := range changes {
		// A commit that would check out a link or a submodule where
		// kubesnap writes is refused before the branch moves (one that
		// removes one is welcome). Elsewhere, in another writer's folder,
		// a link is checked out as git would, and never followed.
		if err := r.checkLink(ch.To, "the remote's branch"); err != nil {
			return err
		}
		if ch.To.Name != "" {
			if err := checkName(ch.To.Name); err != nil {
				return fmt.Errorf("the remote's branch: %w", err)
			}
		}
		if ch.From.Name == "" {
			name := ch.To.Name
			data, err := w.ReadFile(name)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			var link *LinkError
			if errors.As(err, &link) {
				return err
			}
			if err != nil || plumbing.ComputeHash(plumbing.BlobObject, data) != ch.To.TreeEntry.Hash {
				return fmt.Errorf("the file %s is not tracked here but the remote has it: move it away and start again", name)
			}
			continue
		}
		name := ch.From.Name
		if m := ch.From.TreeEntry.Mode; m == filemode.Symlink || m == filemode.Submodule {
			continue // removed as a link, never followed
		}
		var entry *index.Entry
		i := sort.Search(len(idx.Entries), func(i int) bool { return idx.Entries[i].Name >= name })
		if i < len(idx.Entries) && idx.Entries[i].Name == name {
			entry = idx.Entries[i]
		}
		changed, err := r.differs(name, ch.From.TreeEntry.Hash.String(), entry)
		if err != nil {
			return err
		}
		if changed {
			return fmt.Errorf("the file %s has local changes and the remote changed it: commit or undo them and start again", name)
		}
	}
	return nil
}

// checkLink refuses e when it is a link or a submodule under the prefix,
// in where.
func (r *Repo) checkLink(e object.ChangeEntry, where string) error {
	m := e.TreeEntry.Mode
	if e.Name == "" || m != filemode.Symlink && m != filemode.Submodule {
		return nil
	}
	if _, under := r.relative(e.Name); !under {
		return nil
	}
	return &LinkError{Path: e.Name, Submodule: m == filemode.Submodule, Where: where}
}
