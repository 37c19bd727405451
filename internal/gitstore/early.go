package gitstore

import (
	gosync "sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// Writing a first snapshot's files is most of its commit time (see
// BENCHMARKS.md). stageFile writes each changed file as soon as the
// snapshot finds it, while the lists still run, and Commit keeps the index
// entries it recorded instead of writing the file again. Safety is the
// worktree journal's: it is written before the first early file, and until
// Commit clears it, Open brings the worktree back to the branch head
// (removing files HEAD does not track in the folders kubesnap writes;
// kubesnap refuses to start over untracked files there, so those are its
// own).

// early is the state of files written ahead of a Commit.
type early struct {
	mu      gosync.Mutex
	decided bool                    // whether to write early has been decided
	write   bool                    // the branch is checked out: write files early
	entries map[string]*index.Entry // repository path → entry as written
	// queue is the files Stage handed to the goroutine that writes them
	// (nil when none runs): the snapshot goes on to its next object
	// meanwhile. pending counts those not written yet.
	queue   chan earlyFile
	pending gosync.WaitGroup
}

// earlyFile is one file to write ahead.
type earlyFile struct {
	name string
	data []byte
	id   plumbing.Hash
}

// earlyQueue is how many files Stage may hand over before it waits.
const earlyQueue = 256

// stageFile writes name into the worktree ahead of Commit, when the branch
// is checked out. It is best effort: a file it could not write is written
// by Commit, which then reports the error.
func (r *Repo) stageFile(name string, data []byte, h plumbing.Hash) {
	r.early.mu.Lock()
	if !r.early.decided {
		r.early.decided = true
		r.early.write = r.prepareEarly()
	}
	ok := r.early.write
	r.early.mu.Unlock()
	if !ok {
		return
	}
	r.early.mu.Lock()
	if r.early.queue == nil {
		r.early.queue = make(chan earlyFile, earlyQueue)
		go r.writeEarly(r.early.queue)
	}
	q := r.early.queue
	r.early.pending.Add(1)
	r.early.mu.Unlock()
	q <- earlyFile{name: name, data: data, id: h}
}

// writeEarly writes the files of q into the worktree until q is closed.
func (r *Repo) writeEarly(q <-chan earlyFile) {
	for f := range q {
		if w, err := r.workdir(); err == nil {
			if e, err := writeFile(w, f.name, f.data, f.id); err == nil { // makes and checks its folders
				r.early.mu.Lock()
				r.early.entries[f.name] = e
				r.early.mu.Unlock()
			}
		}
		r.early.pending.Done()
	}
}

// settleEarly waits until every file handed to writeEarly is written,
// and ends the goroutine.
func (r *Repo) settleEarly() {
	r.early.pending.Wait()
	r.early.mu.Lock()
	defer r.early.mu.Unlock()
	if r.early.queue != nil {
		close(r.early.queue)
		r.early.queue = nil
	}
}

// prepareEarly decides whether files can be written ahead and, if so,
// makes the repository (a first snapshot's is new) and the journal.
func (r *Repo) prepareEarly() bool {
	if r.bare || r.create() != nil {
		return false
	}
	if out, err := r.checkedOut(); err != nil || !out {
		return false
	}
	// A failed index write of the last commit is left for the next
	// commit to report: this only decides whether to write ahead.
	if r.indexFailed() || r.writeJournal(journalStaging) != nil {
		return false
	}
	r.early.entries = map[string]*index.Entry{}
	return true
}

// takeEarly returns the entries of files written ahead and resets the
// state for the next Commit.
func (r *Repo) takeEarly() map[string]*index.Entry {
	r.settleEarly()
	r.early.mu.Lock()
	defer r.early.mu.Unlock()
	entries := r.early.entries
	r.early.decided, r.early.write, r.early.entries = false, false, nil
	return entries
}
