package gitstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
)

// PushTags sends the local tags names to the remote. It never moves a
// tag the remote has at another commit: that is an error naming it. Push
// the branch first: Push may rebase and move tags on unpushed commits.
func (r *Repo) PushTags(ctx context.Context, names ...string) error {
	rm := r.remote
	if rm == nil {
		return fmt.Errorf("push tags: %w", errNoRemote)
	}
	if len(names) == 0 {
		return nil
	}
	op := fmt.Sprintf("push tags %s to %s", strings.Join(names, ", "), rm.url)
	local := map[plumbing.ReferenceName]*object.Commit{}
	for _, n := range names {
		name := plumbing.NewTagReferenceName(n)
		var ref *plumbing.Reference
		var err error
		if r.repo != nil {
			ref, err = r.repo.Storer.Reference(name)
		}
		if r.repo == nil || errors.Is(err, plumbing.ErrReferenceNotFound) {
			return fmt.Errorf("push tag %s: no such tag", n)
		}
		if err != nil {
			return fmt.Errorf("push tag %s: %w", n, err)
		}
		c, err := r.repo.CommitObject(ref.Hash())
		if err != nil {
			return fmt.Errorf("push tag %s: read commit %s: %w", n, ref.Hash(), err)
		}
		local[name] = c
	}
	err := rm.retry(ctx, func(ctx context.Context) error {
		return r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
			var cmds []*packp.Command
			var objs []plumbing.Hash
			seen := map[plumbing.Hash]bool{}
			for name, c := range local {
				old := refs[name]
				if old == c.Hash {
					continue
				}
				if !old.IsZero() {
					return nil, nil, fmt.Errorf("tag %s is at %s on the remote, %s here: it is not moved", name.Short(), old, c.Hash)
				}
				cmds = append(cmds, &packp.Command{Name: name, New: c.Hash})
				w, err := r.paint(c, refs[r.branch])
				if err != nil {
					return nil, nil, err
				}
				more, err := r.collect(w)
				if err != nil {
					return nil, nil, err
				}
				for _, h := range more {
					if !seen[h] {
						seen[h] = true
						objs = append(objs, h)
					}
				}
			}
			return cmds, objs, nil
		})
	})
	return rm.fail(op, err)
}

// DeleteTags removes the tags names here and on the remote. Tags already
// gone, here or there, are skipped, so it may be called again after a
// failure.
func (r *Repo) DeleteTags(ctx context.Context, names ...string) error {
	rm := r.remote
	if rm == nil {
		return fmt.Errorf("delete tags: %w", errNoRemote)
	}
	for _, n := range names {
		if err := r.DeleteTag(n); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		return nil
	}
	op := fmt.Sprintf("delete tags %s on %s", strings.Join(names, ", "), rm.url)
	err := rm.retry(ctx, func(ctx context.Context) error {
		return r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
			var cmds []*packp.Command
			for _, n := range names {
				name := plumbing.NewTagReferenceName(n)
				if old, ok := refs[name]; ok {
					cmds = append(cmds, &packp.Command{Name: name, Old: old})
				}
			}
			return cmds, nil, nil
		})
	})
	return rm.fail(op, err)
}
