package sync

import (
	"context"
	"sort"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/util/wait"
)

// syncTimeout bounds the wait for informers to deliver their initial
// lists; syncPollEvery is how often they are asked.
const (
	syncTimeout   = 2 * time.Minute
	syncPollEvery = 50 * time.Millisecond
)

// waitUntil asks cond every syncPollEvery, at once first, until it is
// true, ctx ends or syncTimeout passed. It reports whether cond became
// true.
func waitUntil(ctx context.Context, cond func() bool) bool {
	err := wait.PollUntilContextTimeout(ctx, syncPollEvery, syncTimeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	return err == nil
}

// waitSynced waits until every informer delivered its initial list, then
// records as deleted the stored objects no informer reported: they went
// away between the capture and the informers' lists. It returns false
// when ctx ended first.
func (w *Watcher) waitSynced(ctx context.Context) bool {
	unsynced := func() []string {
		var waiting []string
		for dir, infs := range w.informers {
			if !synced(infs) {
				waiting = append(waiting, dir)
			}
		}
		return waiting
	}
	if !waitUntil(ctx, func() bool { return len(unsynced()) == 0 }) && ctx.Err() != nil {
		return false
	}
	waiting := unsynced()
	if len(waiting) > 0 {
		sort.Strings(waiting)
		w.log.Warn("informers not synced after 2m; their deletions wait for the next snapshot", "resources", waiting)
	}
	listed := map[string]bool{}
	for dir := range w.informers {
		listed[dir] = true
	}
	for _, dir := range waiting {
		delete(listed, dir)
	}
	w.deleteUnseen(ctx, listed)
	return true
}

// deleteUnseenOnceSynced waits until the informers of one type (started
// anew at another version) delivered their lists, then has the loop
// record as deleted its stored objects they did not report (the loop: it
// reads the branch, which only its goroutine may).
func (w *Watcher) deleteUnseenOnceSynced(ctx context.Context, dir string, infs map[string]Informer) {
	defer w.newVersionWaits.Done()
	if !waitUntil(ctx, func() bool { return synced(infs) }) {
		if ctx.Err() == nil {
			w.log.Warn("informers not synced after 2m at the new version; deletions wait for the next snapshot", "resource", dir)
		}
		return
	}
	select {
	case w.newVersionSynced <- dir:
	case <-ctx.Done():
	}
}

// deleteUnseen records as deleted every stored object of the given
// resource dirs that is not live. With a label selector, only objects
// that were in scope when stored leave (as Snapshot does).
func (w *Watcher) deleteUnseen(ctx context.Context, dirs map[string]bool) {
	w.mu.Lock()
	var gone []string
	for p := range w.stored {
		id, err := canonical.ParsePath(p)
		if err != nil || !dirs[id.ResourceDir()] || !w.opts.Snapshot.Filter.ID(id) {
			continue
		}
		if _, ok := w.live[p]; !ok {
			gone = append(gone, p)
		}
	}
	w.mu.Unlock()
	for _, p := range gone {
		if in, err := storedInScope(ctx, w.st, w.opts.Snapshot.Filter, p); err != nil || !in {
			continue // unreadable: left for the next snapshot
		}
		id, _ := canonical.ParsePath(p) // parsed above
		w.mu.Lock()
		if _, ok := w.live[p]; !ok {
			w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
		}
		w.mu.Unlock()
	}
}
