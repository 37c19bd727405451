package gitstore

import (
	"fmt"
	"os"
	"slices"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// With Options.IndexInBackground a commit hands its index to
// saveIndexInBackground and returns: at 300,000 files the index is 22 MB,
// and hashing and writing it took most of a one-file commit. The write
// waits until the commits pause (indexQuiet) or for at most
// indexMaxDelay after the first commit it holds: a burst of commits
// writes the index once, and no commit of the burst waits for a write
// of the one before. The journal the commit left stays until the index
// is written, so a process killed meanwhile leaves a worktree the next
// Open brings to HEAD.
//
// The index and the journal belong to the Repo's goroutine except while
// a write runs. The next commit takes a write that has not started back
// (claimIndex) and adds its own entries to it; anything else that reads
// or writes the index or the journal starts the write and waits for it
// first (waitIndex: loadIndex, writeJournal, clearJournal, Flush), so
// writes never overlap and the journal is never cleared under a newer
// commit.

// indexQuiet is how long after a commit, with no commit since, its index
// is written, and indexMaxDelay how long commits that keep coming may put
// the write off. Tests change them.
var indexQuiet, indexMaxDelay = 250 * time.Millisecond, 5 * time.Second

// backgroundSave is saveIndex, which tests make fail.
var backgroundSave = (*Repo).saveIndex

// bgIndex is the index write put off or running in the background.
type bgIndex struct {
	mu      gosync.Mutex
	pending *pendingIndex // an index not written yet; nil when none
	done    chan struct{} // closed when the running write ends; nil when none runs
	err     error         // how the last write failed, until reported
}

// pendingIndex is an index commits left to write.
type pendingIndex struct {
	idx   *index.Index
	m     merged    // what the commits since the last write changed
	since time.Time // the first of those commits
	// timer starts the write; nil while the Repo's goroutine holds the
	// index (claimIndex) for the next commit.
	timer *time.Timer
}

// saveIndexInBackground arranges for idx to be written as saveIndex does,
// with m's changes and those of any earlier commit not written yet, once
// the commits pause. It then clears the journal. A failed write keeps idx
// in memory, whole, for the next commit to write, and the journal on
// disk; the next waitIndex reports the failure.
func (r *Repo) saveIndexInBackground(idx *index.Index, m merged) {
	r.bg.mu.Lock()
	defer r.bg.mu.Unlock()
	p := r.bg.pending
	if p == nil {
		p = &pendingIndex{since: time.Now()}
	} else {
		if p.timer != nil { // not claimed: a caller skipped claimIndex
			p.timer.Stop()
		}
		m = merged{inPlace: p.m.inPlace && m.inPlace, replaced: append(slices.Clip(p.m.replaced), m.replaced...)}
	}
	p.idx, p.m = idx, m
	wait := min(indexQuiet, indexMaxDelay-time.Since(p.since))
	p.timer = time.AfterFunc(max(wait, 0), func() { r.startPending(p) })
	r.bg.pending = p
}

// startPending starts writing p, unless it was claimed or started
// meanwhile.
func (r *Repo) startPending(p *pendingIndex) {
	r.bg.mu.Lock()
	if r.bg.pending != p || p.timer == nil {
		r.bg.mu.Unlock()
		return
	}
	done := r.takePending()
	r.bg.mu.Unlock()
	r.writePending(p, done)
}

// takePending makes the pending write the running one, r.bg.mu held, and
// returns the channel writePending closes.
func (r *Repo) takePending() chan struct{} {
	p := r.bg.pending
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer, r.bg.pending = nil, nil
	done := make(chan struct{})
	r.bg.done = done
	return done
}

// writePending writes p's index and clears the journal, then closes done.
func (r *Repo) writePending(p *pendingIndex, done chan struct{}) {
	defer close(done)
	err := backgroundSave(r, p.idx, p.m)
	if err != nil {
		// saveIndex replaces the file whole or not at all: idx stays
		// in memory, taken for the file as it is now, so that the
		// next commit writes all of it.
		r.index, r.indexFile, r.indexAt = p.idx, nil, nil
		if fi, serr := os.Stat(r.indexPath()); serr == nil {
			r.indexSize, r.indexTime = fi.Size(), fi.ModTime()
		}
	} else {
		err = r.removeJournal()
	}
	r.bg.mu.Lock()
	defer r.bg.mu.Unlock()
	r.bg.err = err
}

// startIndex starts the pending write now, if any, without waiting for it.
func (r *Repo) startIndex() {
	r.bg.mu.Lock()
	p := r.bg.pending
	if p == nil {
		r.bg.mu.Unlock()
		return
	}
	done := r.takePending()
	r.bg.mu.Unlock()
	go r.writePending(p, done)
}

// claimIndex keeps the pending write, if any, from starting: the next
// commit adds its entries to it (saveIndexInBackground) and the journal
// stays. It waits for a write already running and returns how it failed,
// once.
func (r *Repo) claimIndex() error {
	r.bg.mu.Lock()
	if p := r.bg.pending; p != nil && p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	r.bg.mu.Unlock()
	return r.reportIndex(r.settleIndex(true))
}

// claimedIndex returns the index a claimed pending write holds, if any:
// it is newer than the file.
func (r *Repo) claimedIndex() *index.Index {
	r.bg.mu.Lock()
	defer r.bg.mu.Unlock()
	if p := r.bg.pending; p != nil {
		return p.idx
	}
	return nil
}

// waitIndex writes the index commits left, if any, and returns how a
// write failed, once.
func (r *Repo) waitIndex() error {
	r.startIndex()
	return r.reportIndex(r.settleIndex(true))
}

func (r *Repo) reportIndex(err error) error {
	if err != nil {
		return fmt.Errorf("write the index of the last commit: %w", err)
	}
	return nil
}

// indexFailed writes as waitIndex does and says whether the write failed,
// leaving the failure for the next waitIndex (the next commit) to report:
// for callers that only decide whether to go on.
func (r *Repo) indexFailed() bool {
	r.startIndex()
	return r.settleIndex(false) != nil
}

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

// Flush writes the index commits left to write in the background
// (Options.IndexInBackground) and reports how its write went: git status
// is clean once it returns nil. With nothing to write it returns nil.
func (r *Repo) Flush() error { return r.waitIndex() }
