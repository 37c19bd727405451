package sync

import "time"

// Observer is told what a watcher does. Calls may come from several
// goroutines.
type Observer interface {
	Ready()
	Committed(at time.Time, files int)
	CommitFailed(err error)
	Pushed(at time.Time)
	PushFailed(err error)
	// APIServerLost is told, while the API server does not answer, since
	// when and the latest error; APIServerBack when it answers again.
	APIServerLost(since time.Time, err error)
	APIServerBack()
	Pending(n int)
	Captured(objects map[string]int) // per resource dir
	WatchRestarted(resource string)
}

type nopObserver struct{}

func (nopObserver) Ready()                         {}
func (nopObserver) Committed(time.Time, int)       {}
func (nopObserver) CommitFailed(error)             {}
func (nopObserver) Pushed(time.Time)               {}
func (nopObserver) PushFailed(error)               {}
func (nopObserver) Pending(int)                    {}
func (nopObserver) Captured(map[string]int)        {}
func (nopObserver) WatchRestarted(string)          {}
func (nopObserver) APIServerLost(time.Time, error) {}
func (nopObserver) APIServerBack()                 {}
