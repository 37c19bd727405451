package gitstore

import (
	"fmt"
	"os"
	gosync "sync"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// With Options.IndexInBackground a commit hands its index to
// saveIndexInBackground and returns: at 300,000 files the index is 22 MB,
// and hashing and writing it took most of a one-file commit. The journal
// the commit left stays until the index is written, so a process killed
// meanwhile leaves a worktree the next Open brings to HEAD. Whatever
// reads or writes the index or the journal next waits for the write
// first (waitIndex: loadIndex, writeJournal, clearJournal), so writes
// never overlap and the journal is never cleared under a newer commit.

// backgroundSave is saveIndex, which tests make fail.
var backgroundSave = (*Repo).saveIndex

// bgIndex is the index write running in the background, if any.
type bgIndex struct {
	mu   gosync.Mutex
	done chan struct{} // closed when the write ends; nil when none runs
	err  error         // how the last write failed, until reported
}

// saveIndexInBackground writes idx as saveIndex does, in a goroutine, then
// clears the journal. A failed write keeps idx in memory, whole, for the
// next commit to write, and the journal on disk; the next waitIndex
// reports the failure.
func (r *Repo) saveIndexInBackground(idx *index.Index, m merged) {
	done, save := make(chan struct{}), backgroundSave
	r.bg.mu.Lock()
	r.bg.done = done
	r.bg.mu.Unlock()
	go func() {
		defer close(done)
		err := save(r, idx, m)
		if err != nil {
			// saveIndex replaces the file whole or not at all: idx stays
			// in memory, taken for the file as it is now, so that the
			// next commit writes all of it.
			r.index, r.indexFile, r.indexAt = idx, nil, nil
			if fi, serr := os.Stat(r.indexPath()); serr == nil {
				r.indexSize, r.indexTime = fi.Size(), fi.ModTime()
			}
		} else {
			err = r.removeJournal()
		}
		r.bg.mu.Lock()
		defer r.bg.mu.Unlock()
		r.bg.err = err
	}()
}

// waitIndex waits for the index write running in the background, if any,
// and returns how a write failed, once.
func (r *Repo) waitIndex() error {
	if err := r.settleIndex(true); err != nil {
		return fmt.Errorf("write the index of the last commit: %w", err)
	}
	return nil
}

// indexFailed waits as waitIndex does and says whether the write failed,
// leaving the failure for the next waitIndex (the next commit) to report:
// for callers that only decide whether to go on.
func (r *Repo) indexFailed() bool { return r.settleIndex(false) != nil }

// settleIndex waits for the write running, if any, and returns how the
// last write failed, forgetting it when take.
func (r *Repo) settleIndex(take bool) error {
	r.bg.mu.Lock()
	done := r.bg.done
	r.bg.mu.Unlock()
	if done != nil {
		<-done
	}
	r.bg.mu.Lock()
	defer r.bg.mu.Unlock()
	if r.bg.done == done {
		r.bg.done = nil
	}
	err := r.bg.err
	if take {
		r.bg.err = nil
	}
	return err
}

// Flush waits for the index a commit writes in the background
// (Options.IndexInBackground) and reports how its write went: git status
// is clean once it returns nil. Without a write running it returns nil.
func (r *Repo) Flush() error { return r.waitIndex() }
