package sync

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func modified(p, blob string) pendingChange {
	return pendingChange{Change: Change{Op: Modified, Path: p, Data: []byte(blob)}, blob: blob}
}

func deleted(p string) pendingChange {
	return pendingChange{Change: Change{Op: Deleted, Path: p}}
}

func TestPendingSetSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  map[string]pendingChange
		path    string
		c       pendingChange
		stored  string
		want    pendingOutcome
		pending []string
	}{
		{"a change to a new file is queued", nil, "a", modified("a", "x"), "", pendingQueued, []string{"a"}},
		{"a change to other bytes is queued", nil, "a", modified("a", "y"), "x", pendingQueued, []string{"a"}},
		{"the stored bytes again change nothing", nil, "a", modified("a", "x"), "x", pendingKept, nil},
		{"the stored bytes again drop a pending change", map[string]pendingChange{"a": modified("a", "y")}, "a", modified("a", "x"), "x", pendingDropped, nil},
		{"deleting a stored file is queued", nil, "a", deleted("a"), "x", pendingQueued, []string{"a"}},
		{"deleting a file never stored changes nothing", nil, "a", deleted("a"), "", pendingKept, nil},
		{"deleting a file added since drops its addition", map[string]pendingChange{"a": modified("a", "x")}, "a", deleted("a"), "", pendingDropped, nil},
		{"a newer change replaces a pending one", map[string]pendingChange{"a": modified("a", "x"), "b": deleted("b")}, "a", modified("a", "y"), "", pendingQueued, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPendingSet()
			for p, c := range tc.before {
				s.set(p, c, "old", t0)
			}
			if got := s.set(tc.path, tc.c, tc.stored, t0.Add(time.Second)); got != tc.want {
				t.Errorf("set = %d, want %d", got, tc.want)
			}
			got := s.paths()
			slices.Sort(got)
			if diff := cmp.Diff(tc.pending, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pending paths (-want +got)\n%s", diff)
			}
			if c, ok := s.get(tc.path); tc.want == pendingQueued && (!ok || c.blob != tc.c.blob || c.Op != tc.c.Op) {
				t.Errorf("pending %s = %+v, %v; want %+v", tc.path, c, ok, tc.c)
			}
		})
	}
}

// The commit is due Debounce after the newest change, and no later than
// MaxDelay after the oldest: the oldest is the first change to an empty
// set, and take empties it.
func TestPendingSetDue(t *testing.T) {
	s := newPendingSet()
	s.set("a", modified("a", "x"), "", t0)
	s.set("b", modified("b", "x"), "", t0.Add(10*time.Second))
	if got, want := s.due(2*time.Second, 0), t0.Add(12*time.Second); !got.Equal(want) {
		t.Errorf("due without MaxDelay = %s, want %s", got, want)
	}
	if got, want := s.due(2*time.Second, 5*time.Second), t0.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("due with MaxDelay 5s = %s, want %s", got, want)
	}
	s.touch(t0.Add(20 * time.Second))
	if got, want := s.due(2*time.Second, 0), t0.Add(22*time.Second); !got.Equal(want) {
		t.Errorf("due after touch = %s, want %s", got, want)
	}

	taken := s.take()
	if len(taken) != 2 || s.len() != 0 {
		t.Fatalf("take returned %d changes and left %d", len(taken), s.len())
	}
	s.set("c", modified("c", "x"), "", t0.Add(time.Minute))
	if got, want := s.due(2*time.Second, 5*time.Second), t0.Add(time.Minute+2*time.Second); !got.Equal(want) {
		t.Errorf("due of a set filled again = %s, want %s (timed from its own first change)", got, want)
	}
}

func TestPendingSetDropIf(t *testing.T) {
	s := newPendingSet()
	for _, p := range []string{"a", "b", "c"} {
		s.set(p, modified(p, "x"), "", t0)
	}
	s.dropIf(func(p string) bool { return p != "b" })
	if diff := cmp.Diff([]string{"b"}, s.paths()); diff != "" {
		t.Errorf("left (-want +got)\n%s", diff)
	}
}
