package sync

import (
	"testing"
)

// The watcher's informers start from its first snapshot's lists: they
// hold every object, skipped ones too, without rendering any again, and
// their initial objects make no change (nor need reading again), so the
// next commit holds only what changed afterwards.
func TestPrimedInformersMakeNoSpuriousChanges(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.apply("ns", "a", map[string]any{"k": "1"})
	c.apply("ns", "b", map[string]any{"k": "2"})
	c.apply("ns", "kube-root-ca.crt", map[string]any{"ca.crt": "x"}) // skipped by default
	startWatcher(t, c, st, WatchOptions{})
	c.mu.Lock()
	inf, gets := c.informers[0], c.gets
	c.mu.Unlock()
	if gets != 0 {
		t.Errorf("the watcher read %d objects again as its informers started, want none", gets)
	}
	if inf.primed != 3 {
		t.Fatalf("the informer started with %d primed objects, want 3", inf.primed)
	}
	if k, ok := inf.Get("ns", "kube-root-ca.crt"); !ok || !k.Skip {
		t.Errorf("the skipped object is kept as %+v, %v; want it kept as skipped", k, ok)
	}
	if k, ok := inf.Get("ns", "a"); !ok || k.Sum == "" || k.Data != nil || k.Path != pathA {
		t.Errorf("a is kept as %+v, %v; want its path and blob id, no bytes", k, ok)
	}
	if _, n := st.snapshot(); n != 1 {
		t.Fatalf("%d commits once watching, want the snapshot's alone", n)
	}
	c.apply("ns", "b", map[string]any{"k": "3"})
	waitFor(t, "the change committed", func() bool { _, n := st.snapshot(); return n == 2 })
	st.mu.Lock()
	last := st.commits[1]
	st.mu.Unlock()
	if len(last) != 1 || last[0].Path != "namespaces/ns/configmaps/b.yaml" {
		t.Errorf("the commit after the start holds %d changes (%v), want b's alone", len(last), paths(last))
	}
}

func paths(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Path)
	}
	return out
}

// The objects per type are reported once the watcher watches, before any
// change commits: a dashboard of a quiet cluster shows them.
func TestWatcherReportsObjectsPerTypeOnceWatching(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.apply("ns", "a", map[string]any{"k": "1"})
	c.apply("ns", "b", map[string]any{"k": "2"})
	obs := startWatcher(t, c, st, WatchOptions{})
	if got := obs.objects(); got["configmaps"] != 2 || len(got) != 1 {
		t.Errorf("objects per type once watching: %v, want configmaps: 2", got)
	}
}
