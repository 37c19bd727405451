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

// maxMaintaining is how many maintenances the watcher lets run at once:
// one may take minutes (a roll-up of the whole history), and beside it
// the store can do what is safe alongside (gitstore: a pack of the loose
// objects that came since), so that they do not pile up at a fast pace.
const maxMaintaining = 2

// maintenance is the watcher's state of its store's maintenance, owned
// by the loop's goroutine.
type maintenance struct {
	started bool // once since the watcher began
	commits int  // commits since the last one started
	// done receives the finishes of the ones running; nil when none ran.
	done    chan func() (MaintainResult, error)
	running int
}

// MaintainObserver is an Observer that is also told about the store's
// maintenance. The watcher asserts it optionally.
type MaintainObserver interface {
	Maintained(res MaintainResult, took time.Duration)
	MaintainFailed(err error)
}

// maybeMaintain starts a maintenance of the store in its own goroutine
// when the store is a Maintainer, fewer than maxMaintaining are running,
// and enough commits were made since the last started. Commits go on
// meanwhile: the goroutine only writes the new pack; the loop swaps it
// in (finishMaintenance) between commits.
func (w *Watcher) maybeMaintain(ctx context.Context) {
	m, ok := w.st.(Maintainer)
	if !ok || w.maint.running >= maxMaintaining || (w.maint.started && w.maint.commits < maintainEvery) {
		return
	}
	if w.maint.done == nil {
		w.maint.done = make(chan func() (MaintainResult, error), maxMaintaining)
	}
	w.maint.started, w.maint.commits = true, 0
	w.maint.running++
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
	w.maint.running--
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

// endMaintenance waits for the running maintenances and finishes them,
// so that the watcher leaves no lock behind when it stops.
func (w *Watcher) endMaintenance() {
	for w.maint.running > 0 {
		w.finishMaintenance(<-w.maint.done)
	}
}
