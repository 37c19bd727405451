package gitstore

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Push sends the branch to the remote as a fast-forward; it never forces.
// When the remote branch has commits we lack (another writer pushed), it
// fetches them, replays our commits on top (rebased is then true, and
// conflicts names the files both sides changed, relative to the prefix;
// ours were kept, the caller re-derives them) and pushes again. Transport
// failures are retried with exponential backoff within ctx; an error
// means the remote did not take our commits.
func (r *Repo) Push(ctx context.Context) (rebased bool, conflicts []string, err error) {
	rm := r.remote
	if rm == nil {
		return false, nil, fmt.Errorf("push %s: %w", r.branch.Short(), errNoRemote)
	}
	op := fmt.Sprintf("push %s to %s", r.branch.Short(), rm.url)
	seen := map[string]bool{}
	var refused bool
	var refusedAt plumbing.Hash
	race := rm.raceBackoff()
	for round := 1; ; round++ {
		var remoteHead plumbing.Hash
		err := rm.retry(ctx, func(ctx context.Context) error {
			var err error
			remoteHead, err = r.pushBranch(ctx)
			return err
		})
		if err == nil {
			return rebased, conflicts, nil
		}
		var rej *rejectedError
		if !errors.Is(err, errRemoteMoved) && !errors.As(err, &rej) {
			return rebased, conflicts, rm.fail(op, err)
		}
		if rej != nil {
			if refused && remoteHead == refusedAt {
				// Refused twice with the remote where it was: not a
				// race with another writer but a rule of the remote's.
				return rebased, conflicts, rm.fail(op, rej)
			}
			refused, refusedAt = true, remoteHead
		}
		if round >= rm.maxRounds {
			return rebased, conflicts, rm.fail(op, fmt.Errorf("%w: the remote branch moved on %d times while we pushed; will try again", snapsync.ErrLostRace, round))
		}
		if err := contend(ctx, race.Step()); err != nil {
			return rebased, conflicts, rm.fail(op, err)
		}
		theirs, err := r.fetchRetrying(ctx, rm)
		if err != nil {
			return rebased, conflicts, rm.fail(op, err)
		}
		if theirs.IsZero() {
			continue // the branch was deleted on the remote: push it anew
		}
		moved, c, err := r.integrate(theirs)
		if err != nil {
			return rebased, conflicts, fmt.Errorf("%s: %w", op, err)
		}
		rebased = rebased || moved
		for _, p := range c {
			if !seen[p] {
				seen[p] = true
				conflicts = append(conflicts, p)
			}
		}
		sort.Strings(conflicts)
	}
}

// trackingHead is the remote branch as last fetched or pushed.
func (r *Repo) trackingHead() plumbing.Hash {
	ref, err := r.repo.Storer.Reference(r.remote.tracking)
	if err != nil {
		return plumbing.ZeroHash
	}
	return ref.Hash()
}

// setTracking records where the remote branch is.
func (r *Repo) setTracking(h plumbing.Hash) error {
	if err := r.setRef(plumbing.NewHashReference(r.remote.tracking, h), nil); err != nil {
		return &localError{fmt.Errorf("record %s: %w", r.remote.tracking.Short(), err)}
	}
	return nil
}

// pushBranch pushes the branch once. It returns the remote branch head it
// saw, and errRemoteMoved when that is not an ancestor of ours.
func (r *Repo) pushBranch(ctx context.Context) (plumbing.Hash, error) {
	ours, err := r.head()
	if err != nil {
		return plumbing.ZeroHash, &localError{err}
	}
	var theirs plumbing.Hash
	err = r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
		theirs = refs[r.branch]
		if ours == nil || theirs == ours.Hash {
			return nil, nil, nil
		}
		// The remote's other branches are common ground too: a new
		// branch made from its main (a drift branch) sends only what
		// main lacks, not the whole history.
		var others []plumbing.Hash
		for name, h := range refs {
			if name.IsBranch() && name != r.branch {
				others = append(others, h)
			}
		}
		w, err := r.paint(ours, theirs, others...)
		if err != nil {
			return nil, nil, err
		}
		if !theirs.IsZero() && w.flags[theirs]&fromOurs == 0 {
			return nil, nil, errRemoteMoved
		}
		objs, err := r.collect(w)
		if err != nil {
			return nil, nil, err
		}
		return []*packp.Command{{Name: r.branch, Old: theirs, New: ours.Hash}}, objs, nil
	})
	if err != nil {
		return theirs, err
	}
	if ours != nil {
		return ours.Hash, r.setTracking(ours.Hash)
	}
	return theirs, nil
}
