package gitstore

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Tag points the lightweight tag name at the branch head. It refuses to
// move an existing tag.
func (r *Repo) Tag(name string) error {
	c, err := r.head()
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("tag %s: branch %s has no commits", name, r.branch.Short())
	}
	return r.tagCommit(name, c.Hash)
}

// tagCommit points the lightweight tag name at commit h, refusing to move
// an existing tag.
func (r *Repo) tagCommit(name string, h plumbing.Hash) error {
	ref := plumbing.NewTagReferenceName(name)
	if _, err := r.repo.Storer.Reference(ref); err == nil {
		return fmt.Errorf("tag %s exists already: choose another name", name)
	}
	if err := r.setRef(plumbing.NewHashReference(ref, h), nil); err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	return nil
}

// Tags lists the local tags whose name starts with prefix, sorted.
func (r *Repo) Tags(prefix string) ([]string, error) {
	if r.repo == nil {
		return nil, nil
	}
	iter, err := r.repo.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	var out []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsTag() && strings.HasPrefix(ref.Name().Short(), prefix) {
			out = append(out, ref.Name().Short())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// DeleteTag removes the local tag name; a tag that does not exist is
// not an error.
func (r *Repo) DeleteTag(name string) error {
	if r.repo == nil {
		return nil
	}
	if err := r.repo.Storer.RemoveReference(plumbing.NewTagReferenceName(name)); err != nil {
		return fmt.Errorf("delete tag %s: %w", name, err)
	}
	return nil
}

// moveTags points the local tags at commits replaced by a rebase to their
// replacements.
func (r *Repo) moveTags(replaced map[plumbing.Hash]plumbing.Hash) error {
	iter, err := r.repo.Storer.IterReferences()
	if err != nil {
		return fmt.Errorf("list tags: %w", err)
	}
	var move []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsTag() && ref.Type() == plumbing.HashReference {
			if _, ok := replaced[ref.Hash()]; ok {
				move = append(move, ref)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list tags: %w", err)
	}
	for _, old := range move {
		ref := plumbing.NewHashReference(old.Name(), replaced[old.Hash()])
		if err := r.setRef(ref, old); err != nil {
			return fmt.Errorf("move tag %s to %s: %w", old.Name().Short(), ref.Hash(), err)
		}
	}
	return nil
}
