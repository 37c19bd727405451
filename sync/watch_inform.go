package sync

import (
	"context"

	"github.com/kubesnap/kubesnap/canonical"
)

// startType starts the informers of one type: one for all namespaces, or
// one per included namespace. Those whose list prime kept start from it.
func (w *Watcher) startType(ctx context.Context, t canonical.Type, prime *primer) error {
	dir := t.ResourceDir()
	namespaces, selector := fanOut(t, w.opts.Snapshot.Filter)
	infs := map[string]Informer{}
	for _, ns := range namespaces {
		inf, err := w.src.Inform(ctx, t, InformOptions{
			Namespace:     ns,
			LabelSelector: selector,
			Transform:     w.transform(t),
			Primed:        prime.take(dir, ns),
			OnError: func(err error) {
				w.obs.WatchRestarted(dir)
				w.log.Warn("watch restarting", "resource", dir, "error", err)
				w.askAPI()
			},
		}, &handler{w: w, t: t, dir: dir})
		if err != nil {
			for _, inf := range infs {
				inf.Stop()
			}
			return err
		}
		infs[ns] = inf
	}
	w.types[dir] = t
	w.informers[dir] = infs
	return nil
}

// stopType stops a type's informers and forgets its live objects; its
// stored files are to be deleted.
func (w *Watcher) stopType(dir string) {
	w.stopTypeInformers(dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending.dropIf(func(p string) bool {
		id, err := canonical.ParsePath(p)
		return err == nil && id.ResourceDir() == dir && w.stored[p] == ""
	})
	w.obs.Pending(w.pending.len())
	for p := range w.stored {
		if id, err := canonical.ParsePath(p); err == nil && id.ResourceDir() == dir {
			w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
		}
	}
}

// stopTypeInformers stops a type's informers and forgets which of its
// objects are live; its stored files stay.
func (w *Watcher) stopTypeInformers(dir string) {
	for _, inf := range w.informers[dir] {
		inf.Stop()
	}
	delete(w.informers, dir)
	delete(w.types, dir)
	w.forgetLive(dir)
}

// forgetLive forgets which objects of a type are live.
func (w *Watcher) forgetLive(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, d := range w.live {
		if d == dir {
			delete(w.live, p)
		}
	}
	delete(w.counts, dir)
}

func (w *Watcher) stopInformers() {
	for dir := range w.informers {
		for _, inf := range w.informers[dir] {
			inf.Stop()
		}
	}
}

// synced says every informer of a type delivered its initial list.
func synced(infs map[string]Informer) bool {
	for _, inf := range infs {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}
