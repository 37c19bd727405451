package gitstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// retry runs fn until it succeeds, fails for good, or has failed
// rm.attempts times, waiting longer after each failure (exponential
// backoff, capped). Each attempt gets rm.timeout.
func (rm *remote) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	backoff := wait.Backoff{Duration: rm.backoff, Factor: 2, Steps: rm.attempts, Cap: rm.maxWait}
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
		if cerr := sleep(ctx, backoff.Step()); cerr != nil {
			return fmt.Errorf("%w: %w", cerr, err)
		}
	}
}

// maxRaceWait bounds one wait after a lost race, so that a Push that
// loses every round still returns within seconds.
const maxRaceWait = 2 * time.Second

// raceBackoff gives, at each Step, the window of the wait after the next
// race lost to another writer: raceWait, doubled each round, at most
// maxRaceWait.
func (rm *remote) raceBackoff() wait.Backoff {
	return wait.Backoff{Duration: min(rm.raceWait, maxRaceWait), Factor: 2, Steps: rm.maxRounds, Cap: maxRaceWait}
}

// contend waits after a race lost to another writer: a random time below
// window ("full jitter": wait.Backoff's Jitter only adds to a step, which
// would keep every writer waiting at least the step). Writers that lost
// to each other then try again at different times, instead of fetching,
// rebasing and pushing in step and losing again.
func contend(ctx context.Context, window time.Duration) error {
	if window <= 0 {
		return nil
	}
	return sleep(ctx, rand.N(window))
}

// sleep waits d, or until ctx is done, which is its error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
