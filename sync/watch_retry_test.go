package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Failed commits and pushes are retried after 1s, doubling, at most 5m.
func TestRetryBackoffDoublesUpToFiveMinutes(t *testing.T) {
	b := retryBackoff()
	var got []time.Duration
	for range 12 {
		got = append(got, b.Step())
	}
	s := time.Second
	want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got)\n%s", diff)
	}
}
