package sync

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
)

// maintainingStore is a fakeStore that is a Maintainer whose first
// maintenance runs until the test lets it end, as a long roll-up.
type maintainingStore struct {
	*fakeStore
	release chan struct{} // closed: the first maintenance ends

	mu       gosync.Mutex
	started  int // PrepareMaintenance calls
	running  int // prepared or preparing, not finished
	most     int // the most running at once
	finished int
}

func (s *maintainingStore) PrepareMaintenance(ctx context.Context) (func() (MaintainResult, error), error) {
	s.mu.Lock()
	s.started++
	first := s.started == 1
	s.running++
	s.most = max(s.most, s.running)
	s.mu.Unlock()
	if first {
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	return func() (MaintainResult, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.running--
		s.finished++
		return MaintainResult{LoosePacked: 1}, nil
	}, nil
}

func (s *maintainingStore) counts() (started, running, most, finished int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, s.running, s.most, s.finished
}

// While a long maintenance runs, the watcher starts a second one beside
// it (the store packs what is safe alongside), never a third, and
// finishes each between commits, the long one too once it ends.
func TestWatcherRunsASecondMaintenanceBesideALongOne(t *testing.T) {
	c := newFakeCluster()
	st := &maintainingStore{fakeStore: newFakeStore(), release: make(chan struct{})}
	obs := newFakeObserver()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- NewWatcher(c, st, WatchOptions{Observer: obs}).Run(ctx) }()
	<-obs.ready
	commitOne := func(i int) {
		_, before := st.snapshot()
		c.apply("ns", fmt.Sprintf("cm-%d", i%7), map[string]any{"k": fmt.Sprint(i)})
		waitFor(t, "the change committed", func() bool { _, n := st.snapshot(); return n > before })
	}
	i := 0
	for ; i < 5*maintainEvery; i++ {
		commitOne(i)
	}
	started, running, most, finished := st.counts()
	if most != maxMaintaining || running < 1 || started < 3 {
		t.Fatalf("beside a long maintenance: %d started, %d running, at most %d at once; want the second and later ones started one at a time beside it (at most %d)", started, running, most, maxMaintaining)
	}
	if finished != started-running {
		t.Errorf("%d finished of %d started, %d running", finished, started, running)
	}
	close(st.release)
	for ; i < 7*maintainEvery; i++ {
		commitOne(i)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	started, running, most, finished = st.counts()
	if running != 0 || finished != started || most > maxMaintaining {
		t.Errorf("after the watcher stopped: %d started, %d finished, %d running, at most %d at once; want every one finished", started, finished, running, most)
	}
}
