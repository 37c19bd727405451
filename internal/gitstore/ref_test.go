package gitstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
)

// refTestRepo is a repository of two commits with main at the second;
// it returns the repository, the branch's file and both commits.
func refTestRepo(t *testing.T) (r *Repo, file string, first, second plumbing.Hash) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, ids := historyRepo(t, dir, 3, 1)
	return r, filepath.Join(dir, ".git", "refs", "heads", "main"), plumbing.NewHash(ids[0]), plumbing.NewHash(ids[1])
}

func readRef(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSetRefRefusesWhenTheBranchMovedAndLeavesNoLock(t *testing.T) {
	r, file, first, second := refTestRepo(t)
	err := r.setRef(plumbing.NewHashReference("refs/heads/main", first), plumbing.NewHashReference("refs/heads/main", first))
	if !errors.Is(err, storage.ErrReferenceHasChanged) {
		t.Fatalf("setRef with a stale old id = %v, want ErrReferenceHasChanged", err)
	}
	if got := readRef(t, file); got != second.String() {
		t.Errorf("branch = %s, want it left at %s", got, second)
	}
	if _, err := os.Stat(file + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock was left behind: %v", err)
	}
}

func TestSetRefWaitsForAnotherWritersLock(t *testing.T) {
	r, file, first, second := refTestRepo(t)
	if err := os.WriteFile(file+".lock", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.setRef(plumbing.NewHashReference("refs/heads/main", first), plumbing.NewHashReference("refs/heads/main", second))
	if err == nil || !strings.Contains(err.Error(), "main.lock exists") {
		t.Fatalf("setRef while git holds the lock = %v, want an error naming the lock", err)
	}
	if got := readRef(t, file); got != second.String() {
		t.Errorf("branch = %s, want it left at %s", got, second)
	}
	if _, err := os.Stat(file + ".lock"); err != nil {
		t.Errorf("another writer's lock was removed: %v", err)
	}
}

func TestSetRefTakesALockAKilledWriterLeft(t *testing.T) {
	r, file, first, second := refTestRepo(t)
	if err := os.WriteFile(file+".lock", []byte("0000"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleRefLock)
	if err := os.Chtimes(file+".lock", old, old); err != nil {
		t.Fatal(err)
	}
	if err := r.setRef(plumbing.NewHashReference("refs/heads/main", first), plumbing.NewHashReference("refs/heads/main", second)); err != nil {
		t.Fatalf("setRef over a stale lock: %v", err)
	}
	if got := readRef(t, file); got != first.String() {
		t.Errorf("branch = %s, want %s", got, first)
	}
	gitCLI(t, filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(file)))), "fsck", "--strict")
}

func TestSetRefRefusesANameGitWouldNot(t *testing.T) {
	r, _, first, _ := refTestRepo(t)
	if err := r.setRef(plumbing.NewHashReference("refs/heads/../../../escape", first), nil); err == nil {
		t.Fatal("setRef wrote a reference named with ..")
	}
	if _, err := os.Stat(filepath.Join(r.gitDir(), "..", "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was written outside refs: %v", err)
	}
}
