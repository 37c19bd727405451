package sync

import (
	"context"
	"time"
)

// A watcher says when it cannot reach the API server (here) or cannot push
// (watch_push.go), and when that ends: in its log, and to its Observer,
// which turns it into readiness and metrics.

const (
	// apiProbeEvery is how often the API server is asked whether it
	// answers; apiRetryEvery, while it does not. A watch error asks at
	// once.
	apiProbeEvery   = 10 * time.Second
	apiRetryEvery   = 2 * time.Second
	apiProbeTimeout = 5 * time.Second
)

// followAPI asks the API server for its resourceVersion until ctx ends,
// and logs when it stops answering and when it answers again. The
// informers retry on their own and say nothing when they are back: this
// is how the watcher knows.
func (w *Watcher) followAPI(ctx context.Context) {
	defer w.probes.Done()
	var lostAt time.Time
	t := time.NewTimer(apiProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.probe:
		}
		pctx, cancel := context.WithTimeout(ctx, apiProbeTimeout)
		_, err := w.src.ResourceVersion(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		next := apiProbeEvery
		switch {
		case err != nil:
			next = apiRetryEvery
			if lostAt.IsZero() {
				lostAt = w.now()
				w.log.Error("lost the connection to the API server; the informers keep retrying", "error", err)
			}
			w.obs.APIServerLost(lostAt, err)
		case !lostAt.IsZero():
			w.log.Info("the API server answers again", "unreachable for", w.now().Sub(lostAt).Round(time.Second))
			lostAt = time.Time{}
			w.obs.APIServerBack()
		}
		t.Reset(next)
	}
}

// askAPI has followAPI ask the API server now (a watch failed).
func (w *Watcher) askAPI() {
	select {
	case w.probe <- struct{}{}:
	default:
	}
}
