package gitstore

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// Pull brings the remote branch in: it fetches it and, when the local
// branch is missing or behind, fast-forwards it; when both have new
// commits, it replays ours on top of the remote's (see rebase). moved
// reports that the branch head changed, so files read before are stale;
// conflicts names the files (relative to the prefix) both sides changed,
// where ours were kept and which the caller should re-derive. A remote
// without the branch is not an error. A checked-out worktree and the
// index follow the branch, file by changed file.
//
// Pull, Push and Commit must not run at the same time.
func (r *Repo) Pull(ctx context.Context) (moved bool, conflicts []string, err error) {
	rm := r.remote
	if rm == nil {
		return false, nil, fmt.Errorf("pull %s: %w", r.branch.Short(), errNoRemote)
	}
	op := fmt.Sprintf("pull %s from %s", r.branch.Short(), rm.url)
	if err := r.create(); err != nil {
		return false, nil, err
	}
	theirs, err := r.fetchRetrying(ctx, rm)
	if err != nil {
		return false, nil, rm.fail(op, err)
	}
	if theirs.IsZero() {
		return false, nil, nil
	}
	moved, conflicts, err = r.integrate(theirs)
	if err != nil {
		return false, nil, fmt.Errorf("%s: %w", op, err)
	}
	return moved, conflicts, nil
}

// fetchRetrying fetches the branch's remote head, retrying transport
// failures as rm says.
func (r *Repo) fetchRetrying(ctx context.Context, rm *remote) (theirs plumbing.Hash, err error) {
	err = rm.retry(ctx, func(ctx context.Context) error {
		theirs, err = r.fetch(ctx)
		return err
	})
	return theirs, err
}
