package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// racingHook makes the remote's pre-receive hook play another writer that
// pushes to clusters/other while each of our next n pushes is received,
// so that the remote refuses ours as stale: a lost race, n times.
func racingHook(t *testing.T, remote string, n int) {
	t.Helper()
	hook := fmt.Sprintf(`#!/bin/sh
unset GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH
n=$(cat raced 2>/dev/null || echo 0)
[ "$n" -ge %d ] && exit 0
echo $((n+1)) >raced
export GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@o GIT_COMMITTER_NAME=o GIT_COMMITTER_EMAIL=o@o
p=$(git rev-parse refs/heads/main)
git read-tree $p
git update-index --add --cacheinfo 100644,$(echo "race $n" | git hash-object -w --stdin),clusters/other/race.yaml
c=$(git commit-tree $(git write-tree) -p $p -m "other $n")
rm -f index
git update-ref refs/heads/main $c $p
`, n)
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(remote, "raced")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// A rebase replays each commit onto the tree the one before it made; those
// trees are written only once the whole chain is replayed. Reading them
// from the repository alone failed every rebase of two commits or more
// ("read tree …: object not found"), and for good: the chain only grows
// while pushes fail.
func TestPushRebasesSeveralCommitsOverAnotherWriter(t *testing.T) {
	remote := bareRemote(t, "receive.denyNonFastForwards", "true")
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "clusters/c1"})
	setRemote(t, r, Remote{URL: remote})
	commit(t, r, "c1 base\n", add("namespaces/a/configmaps/x.yaml", "x: 0\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Three commits pile up while the push fails; each changes the same
	// folders, so each replay reads trees the one before made.
	commit(t, r, "c1 one\n", modify("namespaces/a/configmaps/x.yaml", "x: 1\n"))
	commit(t, r, "c1 two\n", add("namespaces/a/configmaps/y.yaml", "y\n"), add("namespaces/b/secrets/s.yaml", "s\n"))
	commit(t, r, "c1 three\n", modify("namespaces/a/configmaps/x.yaml", "x: 3\n"), snapsync.Change{Op: snapsync.Deleted, Path: "namespaces/b/secrets/s.yaml"})
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"clusters/c2/namespaces/a/configmaps/x.yaml": "c2\n"}, "c2")

	rebased, _, err := r.Push(t.Context())
	if err != nil || !rebased {
		t.Fatalf("Push of three commits over another writer = %v, %v", rebased, err)
	}
	if got := gitCLI(t, remote, "log", "--format=%s", "main"); got != "c1 three\nc1 two\nc1 one\nc2\nc1 base\n" {
		t.Errorf("remote history:\n%s", got)
	}
	want := "clusters/c1/namespaces/a/configmaps/x.yaml\nclusters/c1/namespaces/a/configmaps/y.yaml\nclusters/c2/namespaces/a/configmaps/x.yaml\n"
	if got := gitCLI(t, remote, "ls-tree", "-r", "--name-only", "main"); got != want {
		t.Errorf("remote files:\n%s", got)
	}
	if got := gitCLI(t, remote, "show", "main:clusters/c1/namespaces/a/configmaps/x.yaml"); got != "x: 3\n" {
		t.Errorf("x.yaml = %q", got)
	}
	clean(t, dir)
	neverForced(t, remote)
	fsck(t, remote)
	fsck(t, dir)
}

// However many races a push loses, the next one fetches what it lacks,
// replays every commit made meanwhile and gets through.
func TestPushAfterManyLostRacesGetsThrough(t *testing.T) {
	remote := bareRemote(t, "receive.denyNonFastForwards", "true")
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "clusters/c1"})
	setRemote(t, r, Remote{URL: remote})
	r.remote.raceWait = time.Millisecond
	commit(t, r, "c1 base\n", add("namespaces/a/configmaps/x.yaml", "x: 0\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}

	racingHook(t, remote, r.remote.maxRounds)
	commit(t, r, "c1 one\n", modify("namespaces/a/configmaps/x.yaml", "x: 1\n"))
	_, _, err := r.Push(t.Context())
	if !errors.Is(err, snapsync.ErrLostRace) || !strings.Contains(err.Error(), "moved on 10 times") {
		t.Fatalf("Push that lost every race = %v, want ErrLostRace", err)
	}
	// The watcher commits again and pushes again; the other writer wins
	// a few more races.
	racingHook(t, remote, 3)
	commit(t, r, "c1 two\n", add("namespaces/a/configmaps/y.yaml", "y\n"))
	commit(t, r, "c1 three\n", modify("namespaces/a/configmaps/x.yaml", "x: 3\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatalf("Push after lost races = %v", err)
	}
	log := gitCLI(t, remote, "log", "--format=%s", "main")
	if !strings.HasPrefix(log, "c1 three\nc1 two\nc1 one\nother 2\n") || strings.Count(log, "other ") != 13 {
		t.Errorf("remote history:\n%s", log)
	}
	if got := gitCLI(t, remote, "show", "main:clusters/c1/namespaces/a/configmaps/x.yaml"); got != "x: 3\n" {
		t.Errorf("x.yaml = %q", got)
	}
	if got, want := rev(t, remote, "main"), rev(t, dir, "main"); got != want {
		t.Errorf("remote main %s, ours %s", got, want)
	}
	clean(t, dir)
	neverForced(t, remote)
	fsck(t, remote)
	fsck(t, dir)
}
