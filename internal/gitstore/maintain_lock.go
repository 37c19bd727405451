package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// maintainLockName is the lock file that keeps two maintainers (two
// processes, or a watcher and kubesnap gc) from running at once.
const maintainLockName = "kubesnap-maintain.lock"

// looseLockName is the lock of a loose pack: a pack of loose objects
// alone, written while another maintainer holds maintainLockName (a long
// roll-up), so that loose objects do not pile up meanwhile. Two loose
// packs never run at once; one runs beside a roll-up (maintain_loose.go).
const looseLockName = "kubesnap-maintain-loose.lock"

// maintainLockStale is how long a lock may go untouched before it is
// taken as left by a process that died: a maintainer at work touches its
// lock every few seconds (refresh).
const maintainLockStale = 2 * time.Minute

// errMaintainLocked says another maintainer holds the lock.
var errMaintainLocked = errors.New("another maintenance is running")

// maintainLock is a held lock file.
type maintainLock struct {
	path    string
	touched time.Time
}

// heldLocks are the lock files this process holds. A lock file naming
// this process's id is stale (pidGone) unless listed here: this process
// may hold the maintenance lock in one goroutine (a roll-up) while
// another asks for it (a loose pack beside it).
var heldLocks = struct {
	gosync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// lockMaintain takes the maintenance lock (lockFile).
func lockMaintain(gitDir string) (*maintainLock, error) {
	return lockFile(gitDir, maintainLockName)
}

// lockFile takes the lock gitDir/name, created with O_EXCL so that only
// one taker wins; a stale lock is removed and taken again once.
func lockFile(gitDir, name string) (*maintainLock, error) {
	p := filepath.Join(gitDir, name)
	heldLocks.Lock()
	defer heldLocks.Unlock()
	if heldLocks.paths[p] {
		return nil, errMaintainLocked
	}
	for range 2 {
		err := createWithPid(p)
		if err == nil {
			heldLocks.paths[p] = true
			return &maintainLock{path: p, touched: time.Now()}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", p, err)
		}
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if time.Since(fi.ModTime()) < maintainLockStale && !lockHolderGone(p) {
			return nil, errMaintainLocked
		}
		// Left by a maintainer that died. Two takers may both find it
		// stale; the removal and O_EXCL above still let only one in, as
		// the loser's create fails against the winner's new file unless
		// the loser removes that one (within the same instant): a
		// narrow window, and two maintainers at once cost time, never
		// objects (each only removes what its own new pack holds).
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	return nil, errMaintainLocked
}

// createWithPid creates p holding this process's id, failing with
// os.ErrExist when p exists. The id is written into a file of this
// process's own first, which is then linked to p: a taker killed at any
// point leaves either no lock or one that names it, never an empty lock
// that would look held for maintainLockStale. Where the file system
// cannot link, p is created exclusively and written after.
func createWithPid(p string) error {
	pid := fmt.Sprintf("%d\n", os.Getpid())
	own := fmt.Sprintf("%s.%d", p, os.Getpid())
	if err := os.WriteFile(own, []byte(pid), 0o644); err != nil {
		return err
	}
	err := os.Link(own, p)
	_ = os.Remove(own) // ours; a left one is a few bytes, rewritten by the next taker with our id
	if err == nil || errors.Is(err, os.ErrExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(pid)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(p) // ours, half written
	}
	return werr
}

// lockHolderGone reports that the process named in the lock file died
// (a SIGKILL, an OOM kill): its lock is stale without waiting. A lock
// still without a pid a second after it was made was left by a taker
// killed between creating it and writing its pid, a few microseconds a
// live one never stays in.
func lockHolderGone(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	if len(data) == 0 {
		fi, err := os.Stat(p)
		return err == nil && time.Since(fi.ModTime()) > time.Second
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err == nil && pidGone(pid)
}

// refresh touches the lock, at most every few seconds, so that it never
// looks stale while its holder works.
func (l *maintainLock) refresh() {
	now := time.Now()
	if now.Sub(l.touched) < 5*time.Second {
		return
	}
	l.touched = now
	_ = os.Chtimes(l.path, now, now) // best effort: a stale-looking lock costs a second maintainer, not objects
}

// release removes the lock.
func (l *maintainLock) release() {
	heldLocks.Lock()
	defer heldLocks.Unlock()
	_ = os.Remove(l.path) // best effort: a left lock goes stale
	delete(heldLocks.paths, l.path)
}
