package sync

import (
	"context"
	"errors"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// collector gathers the changes of all types being listed at once.
type collector struct {
	stored    map[string]string
	st        Reader
	stager    Stager  // set in a snapshot whose store can stage
	secrets   Secrets // its Sealer is nil in a diff: sealed objects show redacted
	enc       *canonical.Encoder
	keepPlain bool
	// keepManaged keeps modified objects' managedFields (Drift).
	keepManaged bool
	// prime, when set, keeps every complete list's Kept for the
	// watcher's informers (its first snapshot).
	prime *primer

	mu      gosync.Mutex
	seen    map[string]bool
	changes map[string]Change
}

func (c *collector) list(ctx context.Context, src Source, t canonical.Type, rv string, facts canonical.Facts, f canonical.Filter) listed {
	out := listed{t: t, complete: true}
	namespaces, selector := fanOut(t, f)
	counted := map[string]bool{}
	for _, ns := range namespaces {
		lo := ListOptions{Namespace: ns, LabelSelector: selector, ResourceVersion: rv}
		var pr *priming
		if c.prime != nil && !t.Aggregated { // another server's versions: no watch resumes from them
			pr = &priming{}
			lo.Listed = pr.listed
		}
		fresh, err := src.List(ctx, t, lo, func(obj *unstructured.Unstructured) error {
			var k *Kept
			if pr != nil {
				k = keptKey(t, obj)
			}
			o, ok, err := c.object(t, obj, facts, f)
			if err != nil {
				return err
			}
			if pr != nil {
				pr.add(k, ok, o.sum, o.manager)
			}
			if !ok {
				return nil
			}
			path := o.path
			c.mu.Lock()
			c.seen[path] = true
			if o.ch != nil {
				c.changes[path] = *o.ch
			} else {
				delete(c.changes, path) // a restarted list saw it again, unchanged
			}
			c.mu.Unlock()
			if !counted[path] {
				counted[path] = true
				out.objects++
			}
			return nil
		})
		if pr != nil && err == nil && ctx.Err() == nil && pr.rv != "" {
			c.prime.put(t.ResourceDir(), ns, &Primed{ResourceVersion: pr.rv, Items: pr.items})
		}
		out.fresh = out.fresh || fresh
		switch {
		case ctx.Err() != nil:
			out.err = ctx.Err()
			return out
		case errors.Is(err, ErrForbidden):
			out.skip = forbiddenReason + err.Error()
			out.complete = false
			return out
		case err != nil:
			out.skip = listFailedReason + err.Error()
			out.complete = false
			return out
		}
	}
	return out
}

// seenObject is what one live object in scope makes: its file's path,
// blob id (as compared) and manager, and the change it makes, if any.
type seenObject struct {
	path, sum, manager string
	ch                 *Change
}

// object turns one live object into the change it makes, if any. ok is
// false for objects out of scope or skipped by default.
func (c *collector) object(t canonical.Type, obj *unstructured.Unstructured, facts canonical.Facts, f canonical.Filter) (o seenObject, ok bool, err error) {
	r, ok, err := render(c.enc, t, obj, facts, f, c.secrets)
	if err != nil || !ok {
		return o, false, err
	}
	o = seenObject{path: r.path, sum: c.st.BlobID(r.compared()), manager: r.manager}
	old := c.stored[r.path]
	if old == o.sum {
		return o, true, nil
	}
	op := Modified
	if old == "" {
		op = Added
	}
	data, err := r.file(c.secrets.Sealer)
	if err != nil {
		return seenObject{}, false, err
	}
	ch := &Change{Op: op, Path: r.path, Data: data, ID: r.id, Manager: r.manager}
	if c.stager != nil {
		c.stager.Stage(r.path, data)
		ch.Data = nil // the store holds it: see Stager
	}
	if c.keepPlain && r.seal != "" {
		ch.plain = r.data
	}
	if c.keepManaged && op == Modified {
		ch.managed = r.managed
	}
	o.ch = ch
	return o, true, nil
}
