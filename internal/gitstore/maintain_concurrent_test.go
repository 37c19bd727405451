package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// maintainAsTheWatcher commits n one-object changes to r as the watcher
// does, with its maintenance: every maintainEvery commits a maintenance
// is prepared in a goroutine (PrepareMaintenance) while commits go on,
// up to two at once (a long roll-up, and beside it a loose pack), and
// each is swapped in between two commits. after is called after every
// commit with how long the commit took (with the swaps, when some
// followed it) and whether a maintenance was writing its pack meanwhile.
func maintainAsTheWatcher(t testing.TB, r *Repo, n int, after func(i int, id string, took time.Duration, maintaining bool)) {
	t.Helper()
	const maxMaintaining = 2 // as sync's watcher
	done := make(chan func() (snapsync.MaintainResult, error), maxMaintaining)
	running, since := 0, 0
	finish := func(f func() (snapsync.MaintainResult, error)) {
		running--
		if _, err := f(); err != nil {
			t.Fatalf("maintenance: %v", err)
		}
	}
	for i := range n {
		c := modify(fmt.Sprintf("namespaces/ns-%02d/configmaps/cm-%04d.yaml", i%10, (i*7)%1000), fmt.Sprintf("w: %d\n", i))
		start, maintaining := time.Now(), running > 0
		one := 1 // the watcher's message: its subject and trailers, which log reads
		msg := fmt.Sprintf("Update 1 object in ns-%02d: configmaps/cm-%04d (bench)\n\n", i%10, (i*7)%1000) +
			snapsync.Trailers{Objects: 2000, Changed: &one, Path: r.Prefix()}.String()
		id, err := r.Commit(t.Context(), []snapsync.Change{c}, msg)
		if err != nil {
			t.Fatal(err)
		}
		since++
	swaps:
		for {
			select {
			case f := <-done:
				finish(f)
			default:
				break swaps
			}
		}
		after(i, id, time.Since(start), maintaining)
		if running < maxMaintaining && since >= 32 {
			running++
			since = 0
			go func() {
				f, err := r.PrepareMaintenance(t.Context())
				done <- func() (snapsync.MaintainResult, error) {
					if err != nil || f == nil {
						return snapsync.MaintainResult{}, err
					}
					return f()
				}
			}()
		}
	}
	for running > 0 {
		finish(<-done)
	}
}

// looseCount counts the loose objects on disk.
// looseCount counts the loose objects of the repository at dir by their
// names alone: the endurance benchmark counts after every commit, and
// scanObjects, which also sizes every file, took half its CPU.
func looseCount(t testing.TB, dir string) int {
	t.Helper()
	objDir := filepath.Join(dir, ".git", "objects")
	n := 0
	for i := range 256 {
		f, err := os.Open(filepath.Join(objDir, fmt.Sprintf("%02x", i)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		names, err := f.Readdirnames(-1)
		f.Close() //nolint:errcheck // read only
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, name := range names {
			if len(name) == 38 && isHex(name) {
				n++
			}
		}
	}
	return n
}

func TestMaintenanceUnderCommitsAndReadersLosesNothing(t *testing.T) {
	n := 600 // 3,600 loose objects without maintenance
	if testing.Short() {
		n = 150
	}
	dir := t.TempDir()
	r, ids := historyRepo(t, dir, 1000, 0)
	ctx, cancel := context.WithCancel(t.Context())
	var wg gosync.WaitGroup
	var reads, gitRuns, refRaces atomic.Int64
	errs := make(chan error, 16)
	// A reader in its own Repo, as kubesnap diff or log in another
	// process: each round opens the repository afresh.
	wg.Go(func() {
		for ctx.Err() == nil {
			rd, err := Open(dir, Options{ReadOnly: true})
			if err == nil {
				var rv *Revision
				if rv, err = rd.At(""); err == nil {
					_, err = rv.Files(ctx)
				}
				if err == nil {
					err = rd.Log(LogOptions{Limit: 50}, func(Entry) error { return nil })
				}
			}
			if err != nil && refRace(err.Error()) {
				refRaces.Add(1)
				continue
			}
			if err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			reads.Add(1)
		}
	})
	// git itself, in other processes.
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			// Not fsck: on a repository being written to it reports the
			// commits made after it listed the objects as missing.
			args := [][]string{{"log", "--oneline", "-n", "50"}, {"cat-file", "--batch-all-objects", "--batch-check"}, {"rev-list", "--objects", "-n", "20", "HEAD"}}[i%3]
			out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
			if err != nil && refRace(string(out)) {
				refRaces.Add(1)
				continue
			}
			if err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("git %v: %v\n%s", args, err, out)
				return
			}
			gitRuns.Add(1)
		}
	})
	maxLoose := 0
	maintainAsTheWatcher(t, r, n, func(_ int, id string, _ time.Duration, _ bool) {
		ids = append(ids, id)
		maxLoose = max(maxLoose, looseCount(t, dir))
	})
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if maxLoose >= 2000 {
		t.Errorf("%d loose objects at most, want fewer than 2,000", maxLoose)
	}
	t.Logf("%d commits, at most %d loose objects; %d reads and %d git runs alongside, %d of them saw the branch file mid-update", n, maxLoose, reads.Load(), gitRuns.Load(), refRaces.Load())
	allReadable(t, dir, r, ids)
}

// refRace reports an error from reading the branch while go-git rewrote
// its file: go-git truncates a ref file and writes it again in place (no
// rename), so a reader in another process may find it empty. That is
// not maintenance's doing (it never touches refs), and nothing is lost;
// it is counted, not failed on, here.
func refRace(msg string) bool {
	return strings.Contains(msg, "invalid sha1 pointer 0000000000000000000000000000000000000000") ||
		strings.Contains(msg, "has no commits yet") || strings.Contains(msg, "reference not found") ||
		strings.Contains(msg, "your current branch appears to be broken") || strings.Contains(msg, `revision "main" not found`) ||
		strings.Contains(msg, "bad revision 'HEAD'") || strings.Contains(msg, "ambiguous argument 'HEAD'")
}
