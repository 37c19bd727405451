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

	mu      gosync.Mutex
	seen    map[string]bool
	changes map[string]Change
}

func (c *collector) list(ctx context.Context, src Source, t canonical.Type, rv string, facts canonical.Facts, f canonical.Filter) listed {
	out := listed{t: t, complete: true}
	namespaces, selector := fanOut(t, f)
	counted := map[string]bool{}
	for _, ns := range namespaces {
		fresh, err := src.List(ctx, t, ListOptions{Namespace: ns, LabelSelector: selector, ResourceVersion: rv}, func(obj *unstructured.Unstructured) error {
			path, ch, ok, err := c.object(t, obj, facts, f)
			if err != nil || !ok {
				return err
			}
			c.mu.Lock()
			c.seen[path] = true
			if ch != nil {
				c.changes[path] = *ch
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

// object turns one live object into the change it makes, if any. ok is
// false for objects out of scope or skipped by default.
func (c *collector) object(t canonical.Type, obj *unstructured.Unstructured, facts canonical.Facts, f canonical.Filter) (path string, ch *Change, ok bool, err error) {
	r, ok, err := render(c.enc, t, obj, facts, f, c.secrets)
	if err != nil || !ok {
		return "", nil, false, err
	}
	old := c.stored[r.path]
	if old == c.st.BlobID(r.compared()) {
		return r.path, nil, true, nil
	}
	op := Modified
	if old == "" {
		op = Added
	}
	data, err := r.file(c.secrets.Sealer)
	if err != nil {
		return "", nil, false, err
	}
	ch = &Change{Op: op, Path: r.path, Data: data, ID: r.id, Manager: r.manager}
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
	return r.path, ch, true, nil
}
