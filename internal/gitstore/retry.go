package gitstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// retry runs fn until it succeeds, fails for good, or has failed
// rm.attempts times, waiting longer after each failure (exponential
// backoff, capped). Each attempt gets rm.timeout.
func (rm *remote) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	wait := rm.backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, rm.timeout)
		err := fn(actx)
		cancel()
		if err == nil || permanent(err) || ctx.Err() != nil {
			if ctx.Err() != nil && err != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", ctx.Err(), err)
			}
			return err
		}
		if attempt >= rm.attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, rm.maxWait)
	}
}

// maxRaceWait bounds one wait after a lost race, so that a Push that
// loses every round still returns within seconds.
const maxRaceWait = 2 * time.Second

// contend waits after the round-th race lost to another writer: a random
// time up to raceWait·2^(round-1), at most maxRaceWait ("full jitter").
// Writers that lost to each other then try again at different times,
// instead of fetching, rebasing and pushing in step and losing again.
func (rm *remote) contend(ctx context.Context, round int) error {
	limit := min(rm.raceWait<<min(round-1, 16), maxRaceWait)
	if limit <= 0 {
		return nil
	}
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
