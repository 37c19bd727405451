package sync

import "time"

// pendingChange is a change waiting for the next commit.
type pendingChange struct {
	Change
	blob string // blob id of Data; "" for Deleted
	// rv is the object's resourceVersion after the change and seen when
	// the watcher received it: what the audit events are matched by.
	rv   string
	seen time.Time
}

// pendingSet is the changes waiting for the next commit, one per path,
// and when the oldest and the newest arrived: what the debounce is timed
// from. It is not safe for concurrent use (the watcher holds its mu).
type pendingSet struct {
	changes map[string]pendingChange
	first   time.Time // when the oldest pending change arrived
	last    time.Time // when the newest did
}

func newPendingSet() pendingSet {
	return pendingSet{changes: map[string]pendingChange{}}
}

// pendingOutcome is what set did.
type pendingOutcome int

const (
	pendingKept    pendingOutcome = iota // nothing changed
	pendingDropped                       // a pending change was dropped
	pendingQueued                        // c is pending
)

// set records at now that path p should become c, unless the stored file
// (its blob id, "" for none) already is c: then it drops any pending
// change of p instead.
func (s *pendingSet) set(p string, c pendingChange, stored string, now time.Time) pendingOutcome {
	if c.Op == Deleted && stored == "" || c.Op != Deleted && stored == c.blob {
		if _, ok := s.changes[p]; ok {
			delete(s.changes, p)
			return pendingDropped
		}
		return pendingKept
	}
	if len(s.changes) == 0 {
		s.first = now
	}
	s.last = now
	s.changes[p] = c
	return pendingQueued
}

// touch records at now a change that is no file's (the coverage file's
// types): it delays the commit as a file's change would.
func (s *pendingSet) touch(now time.Time) { s.last = now }

// get returns p's pending change.
func (s *pendingSet) get(p string) (pendingChange, bool) {
	c, ok := s.changes[p]
	return c, ok
}

func (s *pendingSet) len() int { return len(s.changes) }

// paths lists the paths with a pending change, in no order.
func (s *pendingSet) paths() []string {
	out := make([]string, 0, len(s.changes))
	for p := range s.changes {
		out = append(out, p)
	}
	return out
}

// dropIf drops the pending changes of the paths drop is true for.
func (s *pendingSet) dropIf(drop func(p string) bool) {
	for p := range s.changes {
		if drop(p) {
			delete(s.changes, p)
		}
	}
}

// take returns the pending changes and leaves the set empty.
func (s *pendingSet) take() map[string]pendingChange {
	out := s.changes
	s.changes = map[string]pendingChange{}
	return out
}

// due is when the pending changes should be committed: debounce after
// the newest, and at most maxDelay (when > 0) after the oldest.
func (s *pendingSet) due(debounce, maxDelay time.Duration) time.Time {
	due := s.last.Add(debounce)
	if maxDelay > 0 {
		due = minTime(due, s.first.Add(maxDelay))
	}
	return due
}

// setPending records that path should become c, or drops a pending change
// that the stored file already equals, and tells the observer and the
// loop. The caller holds mu.
func (w *Watcher) setPending(p string, c pendingChange) {
	switch w.pending.set(p, c, w.stored[p], w.now()) {
	case pendingDropped:
		w.obs.Pending(w.pending.len())
	case pendingQueued:
		w.obs.Pending(w.pending.len())
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}
