package sync

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// retryBackoff is the backoff of failed commits and pushes, at its start:
// 1s, doubling, at most 5m.
func retryBackoff() wait.Backoff {
	return wait.Backoff{Duration: time.Second, Factor: 2, Steps: math.MaxInt32, Cap: 5 * time.Minute}
}

// lostRaceBackoff is the delay before a push that lost its races to other
// writers is tried again: 1-3s, never growing.
func lostRaceBackoff() wait.Backoff {
	return wait.Backoff{Duration: time.Second, Jitter: 2}
}

// retryIn logs a failed commit or push, steps b, and returns how long to
// wait before trying again.
func (w *Watcher) retryIn(b *wait.Backoff, what string, err error) time.Duration {
	d := b.Step()
	w.log.Error(what+" failed; retrying", "in", d, "error", err)
	return d
}
