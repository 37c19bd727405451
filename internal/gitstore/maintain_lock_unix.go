//go:build unix

package gitstore

import (
	"errors"
	"syscall"
)

// pidGone reports that no process has the id pid (on this host): a lock
// it left is stale at once. Our own id counts as gone: a lock with it
// was left by an earlier life of this process (a container restarted
// with the same pid).
func pidGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	if pid == syscall.Getpid() {
		return true
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
