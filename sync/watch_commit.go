package sync

import (
	"context"
	"maps"
	"sort"
	"time"
)

// commit writes the pending changes as one commit, unless a restore
// holds the restore lease. When the commit fails, the changes are pending
// again and the commit is retried after a backoff.
func (w *Watcher) commit(ctx context.Context) {
	if w.restoreHolds(ctx) || w.auditHolds() {
		return
	}
	b := w.takeBatch()
	if len(b.changes) == 0 && !b.covDirty {
		return
	}
	if cov, old, ok := w.coverageChange(b.counts); ok {
		b.changes = append(b.changes, cov)
		b.covOld, b.covChanged = old, true
	}
	if len(b.changes) == 0 {
		return
	}
	sort.Slice(b.changes, func(i, j int) bool { return b.changes[i].Path < b.changes[j].Path })
	groups := w.byAuthor(b)
	for i, g := range groups {
		tr := Trailers{Cluster: w.opts.Snapshot.Cluster, ServerVersion: w.serverVersion, ResourceVersion: b.rv, Objects: b.objects, Changed: changedCount(g.changes), Path: storePath(w.st), Audit: g.trailer}
		id, err := w.commitAuthored(ctx, g, Message(g.changes, tr))
		if err != nil {
			w.rollback(b.rest(groups[i:]))
			w.retryAt = w.now().Add(w.retryIn(&w.commitBackoff, "commit", err))
			w.obs.CommitFailed(err)
			return
		}
		w.commitBackoff = retryBackoff()
		w.obs.Committed(w.now(), len(g.changes))
		if g.by != nil {
			w.log.Info("committed", "commit", id, "files", len(g.changes), "author", g.trailer.User)
		} else {
			w.log.Info("committed", "commit", id, "files", len(g.changes))
		}
		w.unpushed = true
		w.maint.commits++
	}
	w.obs.Captured(b.counts)
}

// commitAuthored commits g's changes, by its author when it has one and
// the store can name one.
func (w *Watcher) commitAuthored(ctx context.Context, g authored, msg string) (string, error) {
	if a, ok := g.author(); ok {
		if st, ok := w.st.(AuthoredStore); ok {
			return st.CommitAs(ctx, g.changes, msg, a)
		}
	}
	return w.st.Commit(ctx, g.changes, msg)
}

// restoreHolds reports whether a restore holds the restore lease: commits
// wait, and the lease is read again after HoldRecheck. A lease that
// cannot be read holds nothing: the watcher commits anyway.
func (w *Watcher) restoreHolds(ctx context.Context) bool {
	holder, held, err := w.src.RestoreHeld(ctx)
	switch {
	case err != nil:
		w.log.Warn("cannot read the restore lease; committing anyway", "error", err)
	case held:
		if w.holdUntil.IsZero() {
			w.log.Info("a restore is running: holding commits", "holder", holder)
		}
		w.holdUntil = w.now().Add(w.opts.HoldRecheck)
		return true
	case !w.holdUntil.IsZero():
		w.log.Info("the restore is over: committing its result")
		w.holdUntil = time.Time{}
	}
	return false
}

// batch is the pending changes taken for one commit, with what undoes
// taking them.
type batch struct {
	pending map[string]pendingChange
	prev    map[string]string // stored blob id of each path before
	changes []Change
	objects int
	counts  map[string]int
	rv      string
	// covDirty was set when the batch was taken; covChanged says the
	// coverage file is in changes, covOld its blob id before.
	covDirty, covChanged bool
	covOld               string
}

// takeBatch takes the pending changes and updates stored at once, so
// that events arriving during the commit compare with what is being
// committed.
func (w *Watcher) takeBatch() batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := batch{pending: w.pending.take(), prev: map[string]string{}}
	for p, c := range b.pending {
		b.prev[p] = w.stored[p]
		switch {
		case c.Op == Deleted:
			delete(w.stored, p)
		case w.stored[p] == "":
			c.Op = Added
			w.stored[p] = c.blob
		default:
			c.Op = Modified
			w.stored[p] = c.blob
		}
		b.changes = append(b.changes, c.Change)
	}
	b.objects = len(w.live)
	b.counts = make(map[string]int, len(w.counts))
	maps.Copy(b.counts, w.counts)
	b.rv = w.lastRV
	b.covDirty = w.covDirty
	w.covDirty = false
	w.obs.Pending(0)
	return b
}

// rest is the part of b that groups hold: what a failed commit of the
// first of them, after the commits before it went through, puts back.
func (b batch) rest(groups []authored) batch {
	out := batch{pending: map[string]pendingChange{}, prev: map[string]string{}, covDirty: b.covDirty}
	for _, g := range groups {
		for _, c := range g.changes {
			if pc, ok := b.pending[c.Path]; ok {
				out.pending[c.Path], out.prev[c.Path] = pc, b.prev[c.Path]
			}
			if c.Path == CoveragePath && b.covChanged {
				out.covChanged, out.covOld = true, b.covOld
			}
		}
	}
	return out
}

// rollback undoes takeBatch after a failed commit: stored is as before,
// and every change is pending again unless a newer one arrived meanwhile.
func (w *Watcher) rollback(b batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.covDirty = w.covDirty || b.covDirty
	if b.covChanged {
		w.covDirty = true
		w.stored[CoveragePath] = b.covOld
	}
	for p, c := range b.pending {
		if b.prev[p] == "" {
			delete(w.stored, p)
		} else {
			w.stored[p] = b.prev[p]
		}
		if newer, ok := w.pending.get(p); ok {
			c = newer
		}
		w.setPending(p, c)
	}
}

// coverageChange updates the coverage file's counts and returns the
// file's change and its blob id before; ok is false when it does not
// change.
func (w *Watcher) coverageChange(counts map[string]int) (_ Change, old string, ok bool) {
	for i, c := range w.cov.Captured {
		if _, watched := w.types[c.Resource]; watched {
			w.cov.Captured[i].Objects = counts[c.Resource]
		}
	}
	data, err := w.cov.marshal()
	if err != nil {
		w.log.Error("cannot write the coverage file", "error", err)
		return Change{}, "", false
	}
	blob := w.st.BlobID(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	old = w.stored[CoveragePath]
	if old == blob {
		return Change{}, "", false
	}
	w.stored[CoveragePath] = blob
	op := Modified
	if old == "" {
		op = Added
	}
	return Change{Op: op, Path: CoveragePath, Data: data}, old, true
}
