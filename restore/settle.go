package restore

import (
	"bytes"
	"context"
	"sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// settle decides each desired object's action: create when it is not
// live, unchanged when the canonical bytes match, and otherwise what a
// server-side dry-run says (a file edited by hand may differ only in
// form): unchanged, or update (--force) / differs.
func settle(ctx context.Context, enc *canonical.Encoder, target Target, desired map[string]*Item, live map[string][]byte, opts Options) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	// A create into a namespace, or of a type, that this restore makes
	// first cannot be dry-run now.
	created := map[string]bool{}
	for path, it := range desired {
		if _, isLive := live[path]; !isLive {
			switch it.ID().ResourceDir() {
			case "namespaces":
				created["namespace "+it.Name] = true
			case canonical.CRDDir:
				if t, ok := crdType(it.obj); ok {
					created["type "+t.ResourceDir()] = true
				}
			}
		}
	}
	for path, it := range desired {
		have, isLive := live[path]
		switch {
		case !isLive:
			it.Action = Create
			if !opts.Validate {
				continue
			}
			if created["namespace "+it.Namespace] || created["type "+it.ID().ResourceDir()] {
				it.Reason = "validated when applied: this restore makes its namespace or type first"
				continue
			}
		case bytes.Equal(canonicalBytes(enc, it.obj, it.facts()), have):
			it.Action = Unchanged
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dryRun(ctx, enc, target, it, have, isLive, opts.Force, it.facts())
		})
	}
	wg.Wait()
	return ctx.Err()
}

// dryRun asks the server what applying it would store: for a create it
// validates; for a live object it compares with what is there.
func dryRun(ctx context.Context, enc *canonical.Encoder, target Target, it *Item, have []byte, isLive, force bool, facts canonical.Facts) {
	would, err := target.DryRun(ctx, it.t, it.obj)
	if !isLive {
		if err != nil {
			it.Reason = "the server would refuse it: " + err.Error()
		}
		return
	}
	it.Action = Differs
	if force {
		it.Action = Update
	}
	if err != nil {
		it.Reason = "dry-run refused: " + err.Error()
		return
	}
	// A file kubesnap wrote differs for real: fields someone added live
	// are kept by a plain apply, so the dry-run may match the live object
	// where --force (which takes those fields over) would remove them.
	if !it.canonical && bytes.Equal(canonicalBytes(enc, would, facts), have) {
		it.Action = Unchanged
	}
}

// ignoreLive removes from obj, the revision's object, what rules remove
// from live, the live one: manager rules read live's managedFields, which
// obj (a file) has none of, so a revision written before a manager rule
// neither sends nor compares the fields that manager owns live.
func ignoreLive(obj, live *unstructured.Unstructured, rules canonical.Rules) {
	if len(rules) == 0 {
		return
	}
	meta, _ := obj.Object["metadata"].(map[string]any)
	liveMeta, _ := live.Object["metadata"].(map[string]any)
	if meta == nil || liveMeta["managedFields"] == nil {
		rules.Apply(obj)
		return
	}
	meta["managedFields"] = liveMeta["managedFields"]
	rules.Apply(obj)
	delete(meta, "managedFields")
}

// canonicalBytes is obj in canonical form, for comparing.
func canonicalBytes(enc *canonical.Encoder, obj *unstructured.Unstructured, facts canonical.Facts) []byte {
	c := obj.DeepCopy()
	canonical.Normalize(c, facts)
	data, err := enc.Marshal(c)
	if err != nil {
		return nil // compares unequal to anything live
	}
	return data
}

// applyable is obj without what the server owns: what a restore sends.
func applyable(obj *unstructured.Unstructured) *unstructured.Unstructured {
	c := obj.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "generation", "creationTimestamp", "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c
}
