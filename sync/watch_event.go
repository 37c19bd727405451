package sync

import (
	"github.com/kubesnap/kubesnap/canonical"
)

// handler feeds one type's informer events into the pending changes.
type handler struct {
	w   *Watcher
	dir string
}

func (h *handler) Upsert(k *Kept) { h.w.event(h.dir, k, false) }
func (h *handler) Delete(k *Kept) { h.w.event(h.dir, k, true) }

// event records what one informer event changes: the object's file
// becomes its kept bytes, or leaves when it was deleted or is skipped.
func (w *Watcher) event(dir string, k *Kept, deleted bool) {
	if dir == canonical.CRDDir || dir == canonical.APIServiceDir {
		select {
		case w.retype <- struct{}{}:
		default:
		}
	}
	p := k.Path
	if p == "" {
		return // not transformed: cannot happen with our informers
	}
	if k.Err != "" && !deleted {
		w.log.Error("cannot store object", "path", p, "error", k.Err)
		return
	}
	var blob string
	if !deleted && !k.Skip {
		blob = w.keptBlob(k)
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
		w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: mustID(p), Manager: k.Manager}})
		return
	}
	if _, ok := w.live[p]; !ok {
		w.live[p] = dir
		w.counts[dir]++
	}
	w.setPending(p, pendingChange{Change: Change{Op: Modified, Path: p, Data: []byte(k.Data), ID: mustID(p), Manager: k.Manager}, blob: blob})
}

// keptBlob is the blob id a kept object is compared with the branch in:
// that of its file, or of its redacted form when its file is encrypted
// (see storedFiles).
func (w *Watcher) keptBlob(k *Kept) string {
	if k.Cmp != "" {
		return w.st.BlobID([]byte(k.Cmp))
	}
	return w.st.BlobID([]byte(k.Data))
}

// mustID parses a path made by PathOf, which always parses.
func mustID(p string) canonical.ID {
	id, _ := canonical.ParsePath(p)
	return id
}

// rederive sets path's pending change from what its informer holds now.
// The caller holds mu.
func (w *Watcher) rederive(p string) {
	id, err := canonical.ParsePath(p)
	if err != nil || !w.opts.Snapshot.Filter.ID(id) {
		return // not an object's file, or out of scope: left as it is
	}
	infs, ok := w.informers[id.ResourceDir()]
	if !ok {
		return // not a type being watched
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
		return // event() logged it; leave the stored file alone
	case ok && k != nil && !k.Skip:
		w.setPending(p, pendingChange{Change: Change{Op: Modified, Path: p, Data: []byte(k.Data), ID: id, Manager: k.Manager}, blob: w.keptBlob(k)})
	default:
		w.setPending(p, pendingChange{Change: Change{Op: Deleted, Path: p, ID: id}})
	}
}
