package sync

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const pathA = "namespaces/ns/configmaps/a.yaml"

// A commit that fails loses nothing: its changes are pending again, the
// changes that arrive meanwhile join them, and the retry commits them all.
func TestFailedCommitKeepsChangesAndRetries(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	obs := startWatcher(t, c, st, WatchOptions{})
	st.failNext(1)
	c.apply("ns", "a", map[string]any{"k": "1"})
	select {
	case err := <-obs.commitFailed:
		if !errors.Is(err, errCommitFailed) {
			t.Fatalf("CommitFailed(%v), want the store's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no commit failed")
	}
	if files, _ := st.snapshot(); files[pathA] != nil {
		t.Fatalf("a failed commit stored %s", pathA)
	}
	c.apply("ns", "b", map[string]any{"k": "2"})
	const pathB = "namespaces/ns/configmaps/b.yaml"
	waitFor(t, "both ConfigMaps stored", func() bool {
		files, _ := st.snapshot()
		return files[pathA] != nil && files[pathB] != nil
	})
	files, _ := st.snapshot()
	for p, want := range map[string]string{pathA: "k: \"1\"", pathB: "k: \"2\""} {
		if !containsLine(string(files[p]), want) {
			t.Errorf("%s holds\n%s\nwant a line %q", p, files[p], want)
		}
	}
}

// A change that arrives while its path's commit fails wins over the
// change that failed: rollback keeps the newer one pending, and the
// stored blob ids are as before the commit.
func TestRollbackKeepsTheNewerChange(t *testing.T) {
	st := newFakeStore()
	w := NewWatcher(newFakeCluster(), st, WatchOptions{})
	w.stored = map[string]string{"namespaces/ns/configmaps/old.yaml": "blob-old"}
	v1, v2 := []byte("v1"), []byte("v2")
	w.mu.Lock()
	w.setPending(pathA, pendingChange{Change: Change{Op: Modified, Path: pathA, Data: v1}, blob: st.BlobID(v1)})
	w.setPending("namespaces/ns/configmaps/old.yaml", pendingChange{Change: Change{Op: Deleted, Path: "namespaces/ns/configmaps/old.yaml"}})
	w.mu.Unlock()

	b := w.takeBatch()
	if w.pending.len() != 0 || w.stored[pathA] != st.BlobID(v1) || w.stored["namespaces/ns/configmaps/old.yaml"] != "" {
		t.Fatalf("taking the batch: pending %d, stored %v", w.pending.len(), w.stored)
	}
	w.mu.Lock()
	w.setPending(pathA, pendingChange{Change: Change{Op: Modified, Path: pathA, Data: v2}, blob: st.BlobID(v2)})
	w.mu.Unlock()
	w.rollback(b)

	if diff := cmp.Diff(map[string]string{"namespaces/ns/configmaps/old.yaml": "blob-old"}, w.stored); diff != "" {
		t.Errorf("stored after the rollback (-want +got)\n%s", diff)
	}
	got, ok := w.pending.get(pathA)
	if !ok || string(got.Data) != "v2" {
		t.Errorf("pending %s = %q, %v; want the newer v2", pathA, got.Data, ok)
	}
	if _, ok := w.pending.get("namespaces/ns/configmaps/old.yaml"); !ok {
		t.Error("the delete that failed is no longer pending")
	}
}

// A restore lease that cannot be read holds nothing: the watcher logs it
// and commits anyway.
func TestUnreadableRestoreLeaseCommitsAnyway(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.setRestoreHeld(func() (string, bool, error) { return "", false, errors.New("leases is forbidden") })
	startWatcher(t, c, st, WatchOptions{})
	c.apply("ns", "a", map[string]any{"k": "1"})
	waitFor(t, "committed", func() bool {
		files, _ := st.snapshot()
		return files[pathA] != nil
	})
}

// While a restore holds the lease, commits wait; once it is released the
// changes made meanwhile are committed.
func TestHeldRestoreLeaseHoldsCommits(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.setRestoreHeld(func() (string, bool, error) { return "restore-1", true, nil })
	startWatcher(t, c, st, WatchOptions{HoldRecheck: 20 * time.Millisecond})
	_, before := st.snapshot()
	c.apply("ns", "a", map[string]any{"k": "1"})
	time.Sleep(200 * time.Millisecond) // several rechecks
	if files, commits := st.snapshot(); commits != before || files[pathA] != nil {
		t.Fatalf("committed %d times while the restore held the lease", commits-before)
	}
	c.setRestoreHeld(func() (string, bool, error) { return "", false, nil })
	waitFor(t, "committed after the restore", func() bool {
		files, _ := st.snapshot()
		return files[pathA] != nil
	})
}

// containsLine reports whether s has line, spaces around it aside.
func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
