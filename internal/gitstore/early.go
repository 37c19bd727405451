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
}

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
	w, err := r.workdir()
	if err != nil {
		return
	}
	e, err := writeFile(w, name, data, h) // makes and checks its folders
	if err != nil {
		return
	}
	r.early.mu.Lock()
	r.early.entries[name] = e
	r.early.mu.Unlock()
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
	r.early.mu.Lock()
	defer r.early.mu.Unlock()
	entries := r.early.entries
	r.early.decided, r.early.write, r.early.entries = false, false, nil
	return entries
}
