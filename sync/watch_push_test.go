package sync

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A push that lost its races is tried again within seconds, however many
// times it lost: only other failures back off. A push that works after
// failures says so.
func TestLostRacesAreRetriedSoonAndRecoveryIsLogged(t *testing.T) {
	var log bytes.Buffer
	w := NewWatcher(nil, nil, WatchOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w.now = func() time.Time { return now }
	lost := fmt.Errorf("push main to https://example.com/r.git: %w", ErrLostRace)
	for range 20 {
		at := w.pushFailed(lost)
		if d := at.Sub(now); d < time.Second || d > 3*time.Second {
			t.Fatalf("a lost race is tried again in %s, want 1-3s", d)
		}
	}
	if w.pushBackoff != retryBackoff() {
		t.Errorf("lost races stepped the backoff: %+v", w.pushBackoff)
	}
	if at := w.pushFailed(errors.New("the remote refused to update main")); at.Sub(now) != time.Second {
		t.Errorf("the first other failure is tried again in %s, want 1s", at.Sub(now))
	}
	if at := w.pushFailed(errors.New("the remote refused to update main")); at.Sub(now) != 2*time.Second {
		t.Errorf("the second other failure is tried again in %s, want 2s", at.Sub(now))
	}
	now = now.Add(90 * time.Second)
	w.pushSucceeded()
	if got := log.String(); !strings.Contains(got, `msg="pushed after failures" failures=22 "failing for"=1m30s`) {
		t.Errorf("log:\n%s", got)
	}
	if !w.pushFailingSince.IsZero() || w.pushFailedRun != 0 || w.pushBackoff != retryBackoff() {
		t.Errorf("a push that works leaves failures counted: %v %d %+v", w.pushFailingSince, w.pushFailedRun, w.pushBackoff)
	}
}
