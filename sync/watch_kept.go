package sync

import (
	"context"
	"unique"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// transform turns a live object of type t into what its informer keeps:
// name, namespace, resourceVersion, the blob id of the file it makes (or
// that it is out of scope), and the file's bytes only when they differ
// from the stored file's. It reads the managers before Normalize drops
// managedFields.
func (w *Watcher) transform(t canonical.Type) func(*unstructured.Unstructured) *Kept {
	return func(obj *unstructured.Unstructured) *Kept { return w.keep(t, obj, false) }
}

// keep is transform; with always, Data is set whatever the stored file
// holds (an object read again to get its bytes).
func (w *Watcher) keep(t canonical.Type, obj *unstructured.Unstructured, always bool) *Kept {
	name, ns := obj.GetName(), intern(obj.GetNamespace())
	k := &Kept{Namespace: ns, Name: name, ResourceVersion: obj.GetResourceVersion(), Path: canonical.PathOf(t.ID(ns, name))}
	of, ok, err := render(&w.enc, t, obj, w.facts, w.opts.Snapshot.Filter, w.opts.Snapshot.Secrets)
	var data []byte
	if err == nil && ok {
		data, err = of.file(w.opts.Snapshot.Secrets.Sealer)
	}
	switch {
	case err != nil:
		k.Err = err.Error()
	case !ok:
		k.Skip = true
	default:
		k.Manager = intern(of.manager)
		if of.cmp != nil {
			k.Sum = w.st.BlobID(of.cmp)
		} else {
			k.Sum = w.st.BlobID(data)
		}
		w.mu.Lock()
		differs := w.stored[k.Path] != k.Sum
		w.mu.Unlock()
		if always || differs {
			k.Data = data
		}
	}
	return k
}

// intern returns the one copy of s that every kept object shares: a
// cluster has few namespaces and managers, and many objects of each.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// keptChange is the pending change that makes path p the file k stands
// for. need says k holds too little to tell (its bytes were not kept, the
// stored file differs from them, and no pending change holds them): the
// object must be read again (fetch). set is false when p's pending change
// already is k's. The caller holds mu.
func (w *Watcher) keptChange(p string, id canonical.ID, k *Kept) (c pendingChange, set, need bool) {
	c = pendingChange{Change: Change{Op: Modified, Path: p, ID: id, Manager: k.Manager}, blob: k.Sum, rv: k.ResourceVersion, seen: w.now()}
	if w.stored[p] == k.Sum {
		return c, true, false // drops any pending change of p
	}
	// The file the pending change already makes: an update canonical
	// YAML drops (status, a controller's annotation). The change stays
	// the event that made it, its resourceVersion and manager, so that
	// its author is who changed the file, not the controller after them.
	if pc, ok := w.pending.get(p); ok && pc.Op != Deleted && pc.blob == k.Sum && (pc.Data != nil || k.Data == nil) {
		k.Data = nil
		return c, false, false
	}
	if k.Data != nil {
		c.Data, k.Data = k.Data, nil
		return c, true, false
	}
	return c, false, true
}

// liveGetter reads one live object (the Informers of internal/kube do).
type liveGetter interface {
	Get(ctx context.Context, t canonical.Type, namespace, name string) (*unstructured.Unstructured, error)
}

// fetch reads one object of t again and records its file, for a kept
// object whose bytes the watcher no longer has. A failed read is logged:
// the object's next change, or the next scheduled snapshot, stores it.
func (w *Watcher) fetch(ctx context.Context, t canonical.Type, p string, id canonical.ID) {
	g, ok := w.src.(liveGetter)
	if !ok {
		w.log.Error("cannot read object again: the source cannot get one object", "path", p)
		return
	}
	obj, err := g.Get(ctx, t, id.Namespace, id.Name)
	if err != nil {
		w.log.Warn("cannot read object again; its next change or snapshot stores it", "path", p, "error", err)
		return
	}
	w.event(t.ResourceDir(), w.keep(t, obj, true), false)
}
