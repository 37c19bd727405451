package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExpiredSnapshots(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	names := []string{
		"snapshot/20261122T110000Z", "snapshot/20261121T110000Z", "snapshot/20261120T110000Z",
		"snapshot/20261101T110000Z", "snapshot/not-a-time", "release-1",
	}
	for _, tc := range []struct {
		name      string
		keep      int
		retention time.Duration
		want      []string
	}{
		{"nothing set keeps every tag", 0, 0, nil},
		{"keep 2 drops all but the newest two", 2, 0, []string{"snapshot/20261101T110000Z", "snapshot/20261120T110000Z"}},
		{"a retention drops the older ones", 0, 72 * time.Hour, []string{"snapshot/20261101T110000Z"}},
		{"both apply together", 3, 36 * time.Hour, []string{"snapshot/20261101T110000Z", "snapshot/20261120T110000Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExpiredSnapshots(names, now, tc.keep, tc.retention)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseScheduleRejectsBadCron(t *testing.T) {
	for _, spec := range []string{"every day", "61 * * * *", "@every", "* * * *"} {
		if _, err := ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) accepted it", spec)
		}
	}
	s, err := ParseSchedule("@every 1h")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	if got := s.Next(now); got != now.Add(time.Hour) {
		t.Errorf("@every 1h: next = %s", got)
	}
}
