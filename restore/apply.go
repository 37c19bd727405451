package restore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ApplyOptions shape how a plan is applied.
type ApplyOptions struct {
	// Workers is how many objects of a phase are applied at once; 0
	// means 64.
	Workers int
	// Recreate deletes and creates again an object whose immutable
	// fields differ.
	Recreate bool
	// CRDTimeout bounds the wait for each CRD to be established; 0
	// means one minute.
	CRDTimeout time.Duration
	// Progress, when set, is called after each object.
	Progress func(done, total int)
}

// Failure is one object a restore could not apply.
type Failure struct {
	Item
	Error string `json:"error"`
}

// Report is what a restore did.
type Report struct {
	// Done counts the objects per action that were carried out (for
	// unchanged, differs and skip: planned).
	Done     map[Action]int `json:"done"`
	Failures []Failure      `json:"failures,omitempty"`
}

// Apply carries out the plan's creates, updates and prunes, phase by
// phase: all objects of a phase (a few at a time) before any of the next;
// after the CRDs, it waits until each is established. Prunes come last,
// latest phase first. A failure is recorded and the restore goes on, so
// that one bad object does not leave the rest unrestored.
func Apply(ctx context.Context, target Target, plan *Plan, opts ApplyOptions) Report {
	rep := Report{Done: map[Action]int{}}
	workers := opts.Workers
	if workers <= 0 {
		workers = 64
	}
	timeout := opts.CRDTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	var mu sync.Mutex
	total, done := 0, 0
	for _, it := range plan.Items {
		switch it.Action {
		case Create, Update, Prune:
			total++
		default:
			rep.Done[it.Action]++
		}
	}
	record := func(it Item, err error) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if err != nil {
			rep.Failures = append(rep.Failures, Failure{Item: it, Error: err.Error()})
		} else {
			rep.Done[it.Action]++
		}
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}

	byPhase := map[Phase][]Item{}
	var prunes []Item
	for _, it := range plan.Items {
		switch it.Action {
		case Create, Update:
			byPhase[it.Phase] = append(byPhase[it.Phase], it)
		case Prune:
			prunes = append(prunes, it)
		}
	}
	for p := PhaseCRDs; p <= PhaseAdmission; p++ {
		items := byPhase[p]
		failed := parallel(ctx, items, workers, func(it Item) error {
			err := apply(ctx, target, it, opts.Recreate)
			record(it, err)
			return err
		})
		if p == PhaseCRDs {
			parallel(ctx, items, workers, func(it Item) error {
				if failed[it.Path] {
					return nil
				}
				if err := target.WaitEstablished(ctx, it.Name, timeout); err != nil {
					mu.Lock()
					rep.Failures = append(rep.Failures, Failure{Item: it, Error: err.Error()})
					mu.Unlock()
				}
				return nil
			})
		}
		if ctx.Err() != nil {
			return rep
		}
	}
	for p := PhaseAdmission; p >= PhaseCRDs; p-- {
		var items []Item
		for _, it := range prunes {
			if it.Phase == p {
				items = append(items, it)
			}
		}
		parallel(ctx, items, workers, func(it Item) error {
			err := target.Delete(ctx, it.t, it.Namespace, it.Name, false)
			record(it, err)
			return err
		})
	}
	return rep
}

// apply applies one object; with recreate, an immutable-field refusal
// deletes the object and creates it again.
func apply(ctx context.Context, target Target, it Item, recreate bool) error {
	// Force (taking over what other managers set) is for updates, which
	// --force asked for; a create has nobody to take over from.
	force := it.Action == Update
	err := target.Apply(ctx, it.t, it.obj, force, false)
	if err == nil || !errors.Is(err, ErrImmutable) {
		return err
	}
	if !recreate {
		return fmt.Errorf("%w (--recreate deletes and creates it again)", err)
	}
	if err := target.Delete(ctx, it.t, it.Namespace, it.Name, false); err != nil {
		return fmt.Errorf("recreate: %w", err)
	}
	// The object may take a moment to go (finalizers); try until it has.
	deadline := time.Now().Add(time.Minute)
	for {
		err = target.Apply(ctx, it.t, it.obj, force, false)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// parallel runs fn for every item, workers at a time, and returns the
// paths of the items whose fn failed.
func parallel(ctx context.Context, items []Item, workers int, fn func(Item) error) map[string]bool {
	failed := map[string]bool{}
	var mu sync.Mutex
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				failed[it.Path] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}
