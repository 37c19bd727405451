package sync

import (
	"context"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
)

// handler feeds one type's informer events into the pending changes.
type handler struct {
	w   *Watcher
	t   canonical.Type
	dir string
}

func (h *handler) Upsert(k *Kept) {
	if p, need := h.w.event(h.dir, k, false); need {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		h.w.fetch(ctx, h.t, p, mustID(p))
	}
}

func (h *handler) Delete(k *Kept) { h.w.event(h.dir, k, true) }

// fetchTimeout bounds reading an object again from an informer's handler.
const fetchTimeout = 30 * time.Second

// event records what one informer event changes: the object's file
// becomes its kept bytes, or leaves when it was deleted or is skipped.
// need says the kept object holds too little to tell (keptChange): the
// caller reads path p again.
func (w *Watcher) event(dir string, k *Kept, deleted bool) (p string, need bool) {
	if dir == canonical.CRDDir || dir == canonical.APIServiceDir {
		select {
		case w.retype <- struct{}{}:
		default:
		}
	}
	p = k.Path
	if p == "" {
		return p, false // not transformed: cannot happen with our informers
	}
	if k.Err != "" && !deleted {
		w.log.Error("cannot store object", "path", p, "error", k.Err)
		return p, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if k.ResourceVersion != "" {
		w.lastRV = k.ResourceVersion
	}
	if w.touched != nil {
		w.touched[p] = true
	}
	if deleted || k.Skip {
		if _, ok := w.live[p]; ok {
			delete(w.live, p)
			w.counts[dir]--
		}
		w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: mustID(p), Manager: k.Manager}, rv: k.ResourceVersion, seen: w.now()})
		return p, false
	}
	if _, ok := w.live[p]; !ok {
		w.live[p] = dir
		w.counts[dir]++
	}
	c, set, need := w.keptChange(p, mustID(p), k)
	if set {
		w.setPending(p, c)
	}
	return p, need
}

// mustID parses a path made by PathOf, which always parses.
func mustID(p string) canonical.ID {
	id, _ := canonical.ParsePath(p)
	return id
}

// rederive sets path's pending change from what its informer holds now.
// need says the kept object holds too little to tell (keptChange): the
// caller reads p again, once it released mu. The caller holds mu.
func (w *Watcher) rederive(p string) (need bool) {
	id, err := canonical.ParsePath(p)
	if err != nil || !w.opts.Snapshot.Filter.ID(id) {
		return false // not an object's file, or out of scope: left as it is
	}
	infs, ok := w.informers[id.ResourceDir()]
	if !ok {
		return false // not a type being watched
	}
	inf := infs[""]
	if inf == nil {
		inf = infs[id.Namespace]
	}
	var k *Kept
	if inf != nil {
		k, ok = inf.Get(id.Namespace, id.Name)
	}
	switch {
	case ok && k != nil && k.Err != "":
		return false // event() logged it; leave the stored file alone
	case ok && k != nil && !k.Skip:
		c, set, need := w.keptChange(p, id, k)
		if set {
			w.setPending(p, c)
		}
		return need
	default:
		w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
		return false
	}
}
