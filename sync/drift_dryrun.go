package sync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	gosync "sync"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// handEdited is a stored file not in canonical form whose object differs
// from the live one: a dry-run says whether it would.
type handEdited struct {
	d           Drifted // From stays nil when the dry-run shows no drift
	obj         *unstructured.Unstructured
	canon, live []byte
	t           canonical.Type
}

// dryRun asks the server what it would store for each hand-edited file, a
// few at a time, and fills in what differs.
func dryRun(ctx context.Context, enc *canonical.Encoder, opts DriftOptions, edited []*handEdited, facts canonical.Facts, secrets Secrets) error {
	workers := opts.DryRunWorkers
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	var first error
	for _, e := range edited {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := e.compare(ctx, enc, opts.DryRun, facts, secrets); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return first
}

func (e *handEdited) compare(ctx context.Context, enc *canonical.Encoder, dr DryRunner, facts canonical.Facts, secrets Secrets) error {
	out, err := dr.DryRunApply(ctx, e.t, e.obj)
	if err != nil && !errors.Is(err, ErrDryRunRefused) {
		return fmt.Errorf("dry-run of %s: %w", e.d.Path, err)
	}
	if err != nil {
		e.d.From, e.d.To = e.canon, e.live
		e.d.Note = fmt.Sprintf("server-side dry-run refused (%v); compared the file as it is", err)
		return nil
	}
	facts.Protection = secrets.protection(e.t)
	canonical.Normalize(out, facts)
	would, err := enc.Marshal(out)
	if err != nil {
		e.d.From, e.d.To = e.canon, e.live
		e.d.Note = fmt.Sprintf("the dry-run's object cannot be marshalled (%v); compared the file as it is", err)
		return nil
	}
	if !bytes.Equal(would, e.live) {
		e.d.From, e.d.To = would, e.live
		e.d.Note = "edited by hand: compared as the server would store it (server-side dry-run)"
	}
	return nil
}
