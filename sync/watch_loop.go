package sync

import (
	"context"
	"time"
)

// loop commits, pushes, resyncs and rediscovers until ctx ends.
func (w *Watcher) loop(ctx context.Context) error {
	rediscover := time.NewTicker(w.opts.Rediscover)
	defer rediscover.Stop()
	var cronC <-chan time.Time
	var cronTimer *time.Timer
	armCron := func() {
		if w.opts.Schedule == nil {
			return
		}
		now := w.now()
		next := w.opts.Schedule.Next(now)
		if next.IsZero() {
			return
		}
		if cronTimer == nil {
			cronTimer = time.NewTimer(next.Sub(now))
		} else {
			cronTimer.Reset(next.Sub(now))
		}
		cronC = cronTimer.C
	}
	armCron()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	var retypeAt time.Time
	var audited <-chan struct{}
	if w.opts.Audit != nil {
		audited = w.opts.Audit.Arrived()
	}
	for {
		at := w.nextWake()
		if !retypeAt.IsZero() && (at.IsZero() || retypeAt.Before(at)) {
			at = retypeAt
		}
		if at.IsZero() {
			at = w.now().Add(time.Hour)
		}
		wake.Reset(max(at.Sub(w.now()), 0))
		select {
		case <-ctx.Done():
			w.endMaintenance()
			return w.shutdown(ctx)
		case finish := <-w.maint.done:
			w.finishMaintenance(finish)
		case <-w.kick:
		case <-audited:
			w.auditUntil = time.Time{} // look for the events again
		case dir := <-w.newVersionSynced:
			w.deleteUnseen(ctx, map[string]bool{dir: true})
		case <-w.retype:
			// A new CRD is served shortly after its event.
			retypeAt = w.now().Add(time.Second)
		case <-rediscover.C:
			w.rediscover(ctx)
		case <-cronC:
			w.scheduled(ctx)
			armCron()
		case <-wake.C:
		}
		now := w.now()
		if !retypeAt.IsZero() && !now.Before(retypeAt) {
			retypeAt = time.Time{}
			w.rediscover(ctx)
		}
		if due := w.commitDue(); !due.IsZero() && !now.Before(due) {
			w.commit(ctx)
			w.maybeMaintain(ctx)
		}
		if w.unpushed && w.opts.Remote != nil && !now.Before(w.pushAt) {
			w.push(ctx)
		}
	}
}

// commitDue is when pending changes should be committed; zero when none
// are pending.
func (w *Watcher) commitDue() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending.len() == 0 && !w.covDirty {
		return time.Time{}
	}
	return maxTime(w.pending.due(w.opts.Debounce, w.opts.MaxDelay), w.holdUntil, w.retryAt, w.auditUntil)
}

// nextWake is the earliest time the loop has something to do.
func (w *Watcher) nextWake() time.Time {
	at := w.commitDue()
	if w.unpushed && w.opts.Remote != nil {
		if at.IsZero() || w.pushAt.Before(at) {
			at = maxTime(w.pushAt, w.now())
		}
	}
	return at
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
