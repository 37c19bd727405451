package sync

import (
	"context"
	"errors"
	"time"
)

// push sends the branch to the remote. When the remote had moved on and
// our commits were rebased, the files both sides changed are re-derived
// from the live cluster: the live cluster wins.
func (w *Watcher) push(ctx context.Context) {
	rebased, conflicts, err := w.opts.Remote.Push(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.pushAt = w.pushFailed(err)
		}
		w.obs.PushFailed(err)
		return
	}
	w.pushSucceeded()
	w.unpushed = false
	w.obs.Pushed(w.now())
	if rebased {
		if len(conflicts) > 0 {
			w.log.Info("the remote had changed files we changed too; taking them from the live cluster", "files", conflicts)
		}
		w.refreshStored(ctx, conflicts, true)
	}
}

// pushFailed records a failed push and returns when to try again. A push
// that lost its races to other writers is tried again in 1-3 s without
// backing off further: nothing is wrong, and waiting longer only leaves
// the remote further behind. Other failures back off.
func (w *Watcher) pushFailed(err error) time.Time {
	if w.pushFailingSince.IsZero() {
		w.pushFailingSince = w.now()
	}
	w.pushFailedRun++
	if errors.Is(err, ErrLostRace) {
		b := lostRaceBackoff()
		d := b.Step()
		w.log.Warn("push lost its races to other writers; trying again", "in", d.Round(time.Millisecond), "error", err)
		return w.now().Add(d)
	}
	return w.now().Add(w.retryIn(&w.pushBackoff, "push", err))
}

// pushSucceeded logs a push that ends a run of failures.
func (w *Watcher) pushSucceeded() {
	if w.pushFailedRun > 0 {
		w.log.Info("pushed after failures", "failures", w.pushFailedRun, "failing for", w.now().Sub(w.pushFailingSince).Round(time.Second))
	}
	w.pushFailingSince, w.pushFailedRun, w.pushBackoff = time.Time{}, 0, retryBackoff()
}

// files reads the branch's files as storedFiles does.
func (w *Watcher) files(ctx context.Context) (map[string]string, error) {
	s := w.opts.Snapshot.Secrets
	return storedFiles(ctx, w.st, s, s.sensitiveDirs(), &w.enc)
}

// refreshStored reads the branch's files again (after a rebase or a
// snapshot moved it) and re-derives from the live cluster the given paths
// and those pending. With foreign (after a rebase over another writer's
// commits) it re-derives every file that changed since the branch was
// last read too: files the other writer edited, added or removed under
// our path go back to what the cluster holds.
func (w *Watcher) refreshStored(ctx context.Context, paths []string, foreign bool) {
	files, err := w.files(ctx)
	if err != nil {
		w.log.Error("cannot read the branch", "error", err)
		return
	}
	var again []string // kept objects whose bytes must be read again
	w.mu.Lock()
	for p, blob := range files {
		if foreign && w.stored[p] != blob {
			paths = append(paths, p)
		}
	}
	for p := range w.stored {
		if _, ok := files[p]; foreign && !ok {
			paths = append(paths, p)
		}
	}
	w.stored = files
	paths = append(paths, w.pending.paths()...)
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !seen[p] && w.rederive(p) {
			again = append(again, p)
		}
		seen[p] = true
	}
	w.mu.Unlock()
	for _, p := range again {
		id := mustID(p)
		if t, ok := w.types[id.ResourceDir()]; ok {
			w.fetch(ctx, t, p, id)
		}
	}
}
