package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
