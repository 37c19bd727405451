package gitstore

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const (
	fromOurs   uint8 = 1
	fromTheirs uint8 = 2
)

// clockSkew is how far committer clocks may disagree: the walk goes on
// this far past our oldest commit in case a commit of theirs reaches it.
const clockSkew = time.Hour

// walk is the result of paint.
type walk struct {
	ours    *object.Commit
	flags   map[plumbing.Hash]uint8
	commits map[plumbing.Hash]*object.Commit
}

// commitQueue is a max-heap of commits by committer time.
type commitQueue []*object.Commit

func (q commitQueue) Len() int           { return len(q) }
func (q commitQueue) Less(i, j int) bool { return q[i].Committer.When.After(q[j].Committer.When) }
func (q commitQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)        { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// paint marks the commits reachable from ours and from theirs (zero, or
// a commit we do not have, for none), walking newest first and stopping
// once no commit reachable only from ours is left to walk. A commit
// marked ours-only may, with clocks skewed more than clockSkew, be
// reachable from theirs after all; a commit marked theirs always is.
//
// also are more commits the remote has (its other branches); those we do
// not have are ignored.
func (r *Repo) paint(ours *object.Commit, theirs plumbing.Hash, also ...plumbing.Hash) (*walk, error) {
	w := &walk{ours: ours, flags: map[plumbing.Hash]uint8{}, commits: map[plumbing.Hash]*object.Commit{}}
	q := &commitQueue{}
	add := func(c *object.Commit, f uint8) {
		if w.flags[c.Hash]&f == f {
			return
		}
		w.flags[c.Hash] |= f
		w.commits[c.Hash] = c
		heap.Push(q, c)
	}
	add(ours, fromOurs)
	for _, h := range append([]plumbing.Hash{theirs}, also...) {
		if h.IsZero() {
			continue
		}
		c, err := r.repo.CommitObject(h)
		switch {
		case errors.Is(err, plumbing.ErrObjectNotFound):
		case err != nil:
			return nil, fmt.Errorf("read commit %s: %w", h, err)
		default:
			add(c, fromTheirs)
		}
	}
	var oldest time.Time // of the ours-only commits walked
	goesOn := func() bool {
		for _, c := range *q {
			f := w.flags[c.Hash]
			if f == fromOurs {
				return true
			}
			if f&fromTheirs != 0 && !oldest.IsZero() && c.Committer.When.After(oldest.Add(-clockSkew)) {
				return true
			}
		}
		return false
	}
	for q.Len() > 0 && goesOn() {
		c := heap.Pop(q).(*object.Commit)
		f := w.flags[c.Hash]
		if f == fromOurs && (oldest.IsZero() || c.Committer.When.Before(oldest)) {
			oldest = c.Committer.When
		}
		for _, p := range c.ParentHashes {
			if w.flags[p]&f == f {
				continue
			}
			pc := w.commits[p]
			if pc == nil {
				var err error
				if pc, err = r.repo.CommitObject(p); err != nil {
					return nil, fmt.Errorf("read commit %s: %w", p, err)
				}
			}
			add(pc, f)
		}
	}
	return w, nil
}

// onlyOurs lists the commits reachable from ours and not from theirs.
func (w *walk) onlyOurs() []*object.Commit {
	var out []*object.Commit
	for h, f := range w.flags {
		if f == fromOurs {
			out = append(out, w.commits[h])
		}
	}
	return out
}

// chain lists the commits only ours has on our first-parent line, oldest
// first, and fork, the first parent of the oldest (nil for none); a merge
// brings its other parents' changes along in its diff against the first.
func (r *Repo) chain(w *walk) (chain []*object.Commit, fork *object.Commit, err error) {
	fork = w.ours
	for fork != nil && w.flags[fork.Hash] == fromOurs {
		chain = append(chain, fork)
		if fork.NumParents() == 0 {
			fork = nil
			break
		}
		p := w.commits[fork.ParentHashes[0]]
		if p == nil {
			if p, err = r.repo.CommitObject(fork.ParentHashes[0]); err != nil {
				return nil, nil, fmt.Errorf("read parent of %s: %w", fork.Hash, err)
			}
		}
		fork = p
	}
	slices.Reverse(chain)
	return chain, fork, nil
}
