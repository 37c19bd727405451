package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// With the index written in the background, commits that follow one
// another (adding, changing, deleting) each find the index of the one
// before, and once Flush returns git status is clean and the journal
// gone.
func TestCommitIndexInBackground(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	r := open(t, dir, Options{IndexInBackground: true})
	a, b := "namespaces/n/configmaps/a.yaml", "namespaces/n/configmaps/b.yaml"
	steps := [][]snapsync.Change{
		{add(a, "a: 1\n"), add(b, "b: 1\n")},
		{{Op: snapsync.Modified, Path: a, Data: []byte("a: 2\n")}},
		{{Op: snapsync.Deleted, Path: b}},
		{add(b, "b: 2\n"), {Op: snapsync.Modified, Path: a, Data: []byte("a: 3\n")}},
	}
	for i, changes := range steps {
		if _, err := r.Commit(t.Context(), changes, "step\n"); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	flushedClean(t, r, dir)
	if got := gitCLI(t, dir, "show", "HEAD:"+b); got != "b: 2\n" {
		t.Errorf("HEAD:%s = %q", b, got)
	}
	if err := r.Flush(); err != nil {
		t.Errorf("a second Flush: %v", err)
	}
}

// A background index write that fails keeps the journal, is reported
// once (by Flush, or by the next commit, which then leaves the branch),
// and the next write holds the failed commit's entries too.
func TestCommitIndexInBackgroundFails(t *testing.T) {
	for _, c := range []struct {
		name         string
		flush, stage bool
	}{{"reported by Flush", true, false}, {"reported by the next commit", false, false}, {"reported by the next commit after a Stage", false, true}} {
		flush := c.flush
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			r := open(t, dir, Options{IndexInBackground: true})
			a, b := "namespaces/n/configmaps/a.yaml", "namespaces/n/configmaps/b.yaml"
			if _, err := r.Commit(t.Context(), []snapsync.Change{add(a, "a: 1\n")}, "one\n"); err != nil {
				t.Fatal(err)
			}
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			failing := errors.New("disk on fire")
			backgroundSave = func(*Repo, *index.Index, merged) error { return failing }
			t.Cleanup(func() { backgroundSave = (*Repo).saveIndex })
			second, err := r.Commit(t.Context(), []snapsync.Change{add(b, "b: 1\n")}, "two\n")
			if err != nil {
				t.Fatal(err)
			}
			if flush {
				if err := r.Flush(); !errors.Is(err, failing) {
					t.Fatalf("Flush = %v, want the write's failure", err)
				}
			} else if !r.indexFailed() { // the commits paused: the write ran
				t.Fatal("the index write did not fail")
			}
			backgroundSave = (*Repo).saveIndex
			if c.stage { // the watcher stages an object before it commits
				r.Stage(a, []byte("a: 2\n"))
			}
			if _, err := os.Stat(r.journalPath()); err != nil {
				t.Errorf("the journal is gone after a failed index write: %v", err)
			}
			_, err = r.Commit(t.Context(), []snapsync.Change{{Op: snapsync.Modified, Path: a, Data: []byte("a: 2\n")}}, "three\n")
			switch {
			case flush && err != nil:
				t.Fatalf("commit after the failure was reported: %v", err)
			case !flush && !errors.Is(err, failing):
				t.Fatalf("commit after the failure = %v, want the failure", err)
			case !flush:
				if head := strings.TrimSpace(gitCLI(t, dir, "rev-parse", "HEAD")); head != second {
					t.Errorf("the failed commit moved the branch to %s", head)
				}
				if _, err := r.Commit(t.Context(), []snapsync.Change{{Op: snapsync.Modified, Path: a, Data: []byte("a: 2\n")}}, "three\n"); err != nil {
					t.Fatal(err)
				}
			}
			flushedClean(t, r, dir)
		})
	}
}

// flushedClean flushes r and checks that git status is clean and the
// journal gone.
func flushedClean(t *testing.T, r *Repo, dir string) {
	t.Helper()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := gitCLI(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status is not clean:\n%s", st)
	}
	if _, err := os.Stat(r.journalPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal after Flush: %v", err)
	}
}

// putIndexOff makes the background index wait for Flush (or whatever
// else writes it) for the rest of the test, and counts the writes of the
// repository at dir.
func putIndexOff(t *testing.T, dir string) *int {
	t.Helper()
	quiet, most := indexQuiet, indexMaxDelay
	indexQuiet, indexMaxDelay = time.Hour, time.Hour
	writes := 0
	backgroundSave = func(r *Repo, idx *index.Index, m merged) error {
		if r.dir == dir {
			writes++
		}
		return r.saveIndex(idx, m)
	}
	t.Cleanup(func() { indexQuiet, indexMaxDelay, backgroundSave = quiet, most, (*Repo).saveIndex })
	return &writes
}

// Commits that come before the index of the one before is written add
// their entries to it: changed in place, added, deleted, changed again,
// one write holds them all, and the journal stays until then.
func TestBackgroundIndexGathersTheCommitsOfABurst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	writes := putIndexOff(t, dir)
	r := open(t, dir, Options{IndexInBackground: true})
	a, b, c := "namespaces/n/configmaps/a.yaml", "namespaces/n/configmaps/b.yaml", "namespaces/n/configmaps/c.yaml"
	if _, err := r.Commit(t.Context(), []snapsync.Change{add(a, "a: 1\n"), add(b, "b: 1\n")}, "first\n"); err != nil {
		t.Fatal(err)
	}
	flushedClean(t, r, dir)
	*writes = 0
	steps := [][]snapsync.Change{
		{{Op: snapsync.Modified, Path: a, Data: []byte("a: 2\n")}},
		{{Op: snapsync.Modified, Path: b, Data: []byte("b: 2\n")}},
		{add(c, "c: 1\n")},
		{{Op: snapsync.Modified, Path: a, Data: []byte("a: 3\n")}},
		{{Op: snapsync.Deleted, Path: b}},
		{{Op: snapsync.Modified, Path: c, Data: []byte("c: 2\n")}},
	}
	for i, changes := range steps {
		if _, err := r.Commit(t.Context(), changes, "step\n"); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if _, err := os.Stat(r.journalPath()); err != nil {
			t.Fatalf("commit %d: no journal while its index waits: %v", i, err)
		}
	}
	if *writes != 0 {
		t.Errorf("%d index writes before Flush, want none", *writes)
	}
	flushedClean(t, r, dir)
	if *writes != 1 {
		t.Errorf("%d index writes for the burst, want 1", *writes)
	}
	got := gitCLI(t, dir, "ls-files", "--format=%(objectname) %(path)")
	want := gitCLI(t, dir, "ls-tree", "-r", "--format=%(objectname) %(path)", "HEAD")
	if got != want {
		t.Errorf("index:\n%s\nHEAD:\n%s", got, want)
	}
}

// A commit's index is written without Flush once the commits pause.
func TestBackgroundIndexIsWrittenWhenTheCommitsPause(t *testing.T) {
	quiet := indexQuiet
	indexQuiet = time.Millisecond
	t.Cleanup(func() { indexQuiet = quiet })
	dir := filepath.Join(t.TempDir(), "repo")
	r := open(t, dir, Options{IndexInBackground: true})
	a := "namespaces/n/configmaps/a.yaml"
	if _, err := r.Commit(t.Context(), []snapsync.Change{add(a, "a: 1\n")}, "one\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		_, err := os.Stat(r.journalPath())
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index of a commit is not written a minute after it: journal %v", err)
		}
	}
	if r.settleIndex(true) != nil {
		t.Fatal("the write failed")
	}
	if st := gitCLI(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status is not clean:\n%s", st)
	}
}

// What reads the index other than a commit, or writes a journal of its
// own, writes the index commits left first: here a Stage.
func TestBackgroundIndexIsWrittenBeforeOtherWork(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	writes := putIndexOff(t, dir)
	r := open(t, dir, Options{IndexInBackground: true})
	a := "namespaces/n/configmaps/a.yaml"
	if _, err := r.Commit(t.Context(), []snapsync.Change{add(a, "a: 1\n")}, "one\n"); err != nil {
		t.Fatal(err)
	}
	r.Stage(a, []byte("a: 2\n"))
	r.settleEarly()
	if *writes != 1 {
		t.Errorf("%d index writes before Stage wrote ahead, want 1", *writes)
	}
	if _, err := r.Commit(t.Context(), []snapsync.Change{{Op: snapsync.Modified, Path: a, Data: []byte("a: 2\n")}}, "two\n"); err != nil {
		t.Fatal(err)
	}
	flushedClean(t, r, dir)
	if got := gitCLI(t, dir, "show", "HEAD:"+a); got != "a: 2\n" {
		t.Errorf("HEAD:%s = %q", a, got)
	}
}

// TestMergeIndexOrder adds entries, out of order and one name twice, to
// an index holding some: the result is sorted by name, each name once
// with the entry written last, and the index's entries named again are
// replaced where they are.
func TestMergeIndexOrder(t *testing.T) {
	e := func(name string, size uint32) *index.Entry { return &index.Entry{Name: name, Size: size} }
	idx := &index.Index{Version: 4, Entries: []*index.Entry{e("b", 1), e("d", 1), e("f", 1)}}
	m := mergeIndex(idx, []*index.Entry{e("e", 2), e("a", 2), e("d", 2), nil, e("c", 2), e("a", 3), e("g", 2)}, nil)
	var got []string
	for _, x := range idx.Entries {
		got = append(got, fmt.Sprintf("%s%d", x.Name, x.Size))
	}
	if want := "a3 b1 c2 d2 e2 f1 g2"; strings.Join(got, " ") != want {
		t.Errorf("entries %s, want %s", strings.Join(got, " "), want)
	}
	if m.inPlace {
		t.Error("entries were added, yet the merge says in place")
	}
}
