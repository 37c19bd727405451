package sync

import (
	"context"
	"time"
)

// maintainEvery is how many commits the watcher makes between two
// maintenances of its store. A one-object commit writes about six loose
// objects, so the store holds a few hundred loose objects at most
// between them (a maintenance gathers them once they pass
// gitstore.DefaultMaintainOptions' MinLoose).
const maintainEvery = 32

// maintenance is the watcher's state of its store's maintenance, owned
// by the loop's goroutine.
type maintenance struct {
	started bool // once since the watcher began
	commits int  // commits since the last one started
	// done receives the finish of the one running; nil when none ran.
	done    chan func() (MaintainResult, error)
	running bool
}

// MaintainObserver is an Observer that is also told about the store's
// maintenance. The watcher asserts it optionally.
type MaintainObserver interface {
	Maintained(res MaintainResult, took time.Duration)
	MaintainFailed(err error)
}

// maybeMaintain starts a maintenance of the store in its own goroutine
// when the store is a Maintainer, none is running, and enough commits
// were made since the last. Commits go on meanwhile: the goroutine only
// writes the new pack; the loop swaps it in (finishMaintenance) between
// commits.
func (w *Watcher) maybeMaintain(ctx context.Context) {
	m, ok := w.st.(Maintainer)
	if !ok || w.maint.running || (w.maint.started && w.maint.commits < maintainEvery) {
		return
	}
	if w.maint.done == nil {
		w.maint.done = make(chan func() (MaintainResult, error), 1)
	}
	w.maint.started, w.maint.running, w.maint.commits = true, true, 0
	start := w.now()
	go func() {
		finish, err := m.PrepareMaintenance(ctx)
		w.maint.done <- func() (MaintainResult, error) {
			if err != nil && ctx.Err() != nil {
				return MaintainResult{Skipped: "the watcher is stopping"}, nil
			}
			if err != nil {
				return MaintainResult{}, err
			}
			if finish == nil {
				return MaintainResult{Skipped: "nothing to do"}, nil
			}
			res, err := finish()
			w.maintained(res, w.now().Sub(start), err)
			return res, err
		}
	}()
}

// finishMaintenance swaps in what the running maintenance prepared.
func (w *Watcher) finishMaintenance(finish func() (MaintainResult, error)) {
	w.maint.running = false
	res, err := finish()
	if err != nil {
		// A failed maintenance costs disk space, never a commit: the
		// watcher goes on, and the next one tries again.
		w.log.Warn("store maintenance failed; the watcher goes on", "error", err)
		if o, ok := w.obs.(MaintainObserver); ok {
			o.MaintainFailed(err)
		}
		return
	}
	if res.Skipped == "" {
		w.log.Info("store maintained", "loosePacked", res.LoosePacked, "packsRolled", res.PacksRolled, "packs", res.PacksAfter)
	}
}

// maintained tells the observer about a maintenance that went through.
func (w *Watcher) maintained(res MaintainResult, took time.Duration, err error) {
	if o, ok := w.obs.(MaintainObserver); ok && err == nil && res.Skipped == "" {
		o.Maintained(res, took)
	}
}

// endMaintenance waits for a running maintenance and finishes it, so
// that the watcher leaves no lock behind when it stops.
func (w *Watcher) endMaintenance() {
	if w.maint.running {
		w.finishMaintenance(<-w.maint.done)
	}
}
