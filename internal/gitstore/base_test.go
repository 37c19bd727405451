package gitstore

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

func modify(p, data string) snapsync.Change {
	return snapsync.Change{Op: snapsync.Modified, Path: p, Data: []byte(data)}
}

func remove(p string) snapsync.Change {
	return snapsync.Change{Op: snapsync.Deleted, Path: p}
}

// prDiff is what a pull request from branch into base shows: git diff
// base...branch, as "status path" lines, sorted.
func prDiff(t *testing.T, dir, base, branch string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(gitCLI(t, dir, "diff", "--name-status", base+"..."+branch)), "\n") {
		if l != "" {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	sort.Strings(out)
	return out
}

func parents(t *testing.T, dir, rev string) []string {
	t.Helper()
	return strings.Fields(gitCLI(t, dir, "log", "-1", "--format=%P", rev))
}

func fsck(t *testing.T, dir string) {
	t.Helper()
	gitCLI(t, dir, "fsck", "--strict", "--no-progress")
}

// reviewed makes a repository whose main holds, under clusters/a, the files
// a, b and c, and a README outside the prefix.
func reviewed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := open(t, dir, Options{Prefix: "clusters/a"})
	commit(t, r, "reviewed", add("a", "a1\n"), add("b", "b1\n"), add("c", "c1\n"))
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "add", "README")
	gitCLI(t, dir, "commit", "--quiet", "-m", "readme")
	return dir
}

func TestBaseCommitsTheDriftOnTopOfTheBase(t *testing.T) {
	dir := reviewed(t)
	main := rev(t, dir, "main")
	r := open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	if got := r.Base().Commit(); got != main {
		t.Fatalf("Base = %s, want main's %s", got, main)
	}
	files, err := r.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(files); got != 3 {
		t.Errorf("Files of the base holds %d files, want a, b, c", got)
	}
	if data, err := r.Read(t.Context(), "a"); err != nil || string(data) != "a1\n" {
		t.Errorf("Read a = %q, %v; want the base's a1", data, err)
	}

	first := commit(t, r, "drift 1", modify("a", "a2\n"), remove("b"), add("d", "d1\n"))
	if got, want := parents(t, dir, "drift/a"), []string{main}; !cmp.Equal(got, want) {
		t.Errorf("a new drift branch's first commit has parents %v, want the base %v", got, want)
	}
	want := []string{"A clusters/a/d", "D clusters/a/b", "M clusters/a/a"}
	if diff := cmp.Diff(want, prDiff(t, dir, "main", "drift/a")); diff != "" {
		t.Errorf("PR diff (-want +got):\n%s", diff)
	}
	if got := gitCLI(t, dir, "show", "drift/a:README"); got != "hello\n" {
		t.Errorf("a file outside the prefix is %q on the drift branch, want the base's", got)
	}
	if got := rev(t, dir, "HEAD"); got != main {
		t.Errorf("HEAD moved to %s", got)
	}
	clean(t, dir) // the worktree and index still hold main

	if id, err := r.Commit(t.Context(), []snapsync.Change{modify("a", "a2\n"), remove("b"), add("d", "d1\n")}, "drift again"); err != nil || id != "" {
		t.Errorf("the same drift again made commit %q (%v), want none", id, err)
	}

	second := commit(t, r, "drift 2", modify("a", "a3\n"), remove("b"), add("d", "d1\n"))
	if got, want := parents(t, dir, second), []string{first}; !cmp.Equal(got, want) {
		t.Errorf("more drift from the same base has parents %v, want the last drift commit %v (a fast-forward)", got, want)
	}

	// The base moves on: main gets a reviewed change to c.
	gitCLI(t, dir, "checkout", "--quiet", "main")
	if err := os.WriteFile(filepath.Join(dir, "clusters/a/c"), []byte("c2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "commit", "--quiet", "-am", "review c2")
	moved := rev(t, dir, "main")
	r = open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	third := commit(t, r, "drift 3", modify("a", "a3\n"), remove("b"), add("d", "d1\n"))
	if got, want := parents(t, dir, third), []string{second, moved}; !cmp.Equal(got, want) {
		t.Errorf("drift after the base moved has parents %v, want the last drift commit and the new base %v", got, want)
	}
	if got := strings.TrimSpace(gitCLI(t, dir, "merge-base", "main", "drift/a")); got != moved {
		t.Errorf("merge-base of main and drift/a = %s, want main %s", got, moved)
	}
	if diff := cmp.Diff(want, prDiff(t, dir, "main", "drift/a")); diff != "" {
		t.Errorf("PR diff after the base moved (-want +got):\n%s", diff)
	}
	if got := gitCLI(t, dir, "show", "drift/a:clusters/a/c"); got != "c2\n" {
		t.Errorf("c on the drift branch is %q, want the new base's c2", got)
	}

	// The drift goes away: the branch catches up with the base.
	r = open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	gone := commit(t, r, "no drift")
	if got := prDiff(t, dir, "main", "drift/a"); len(got) != 0 {
		t.Errorf("PR diff after the drift went away = %v, want none", got)
	}
	if got, want := parents(t, dir, gone), []string{third}; !cmp.Equal(got, want) {
		t.Errorf("catching up has parents %v, want %v", got, want)
	}
	fsck(t, dir)
}

func TestBaseWithoutDriftMakesNoBranch(t *testing.T) {
	dir := reviewed(t)
	r := open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "HEAD~1"})
	if id, err := r.Commit(t.Context(), nil, "nothing"); err != nil || id != "" {
		t.Errorf("Commit of no drift = %q, %v; want no commit", id, err)
	}
	if gitCLIOK(dir, "rev-parse", "--verify", "--quiet", "refs/heads/drift/a") {
		t.Error("no drift created the branch")
	}
}

func TestBaseRefusesWhatItCannotDo(t *testing.T) {
	dir := reviewed(t)
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		dir  string
		opts Options
		want []string
	}{
		{"the branch checked out", dir, Options{Branch: "main", Base: "main~1"}, []string{"--base", "branch main is checked out", "--branch"}},
		{"the checked-out branch by default", dir, Options{Base: "main~1"}, []string{"--base", "branch main is checked out"}},
		{"an unknown revision", dir, Options{Branch: "drift/a", Base: "nope"}, []string{"--base", `revision "nope" not found`}},
		{"a repository that does not exist", missing, Options{Branch: "drift/a", Base: "main"}, []string{"--base main", "no commits yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.dir, tt.opts)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a refused Open left %s behind: %v", missing, err)
	}
}

func TestBaseBranchIsPulledAndPushedWithoutForce(t *testing.T) {
	remote := bareRemote(t)
	gitCLI(t, remote, "config", "core.logAllRefUpdates", "always")
	dir := reviewed(t)
	gitCLI(t, dir, "push", "--quiet", remote, "main")

	// Neither here nor on the remote: Pull is a no-op.
	r := open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	setRemote(t, r, Remote{URL: remote})
	if moved, _, err := r.Pull(t.Context()); err != nil || moved {
		t.Fatalf("Pull of a branch neither side has = %v, %v", moved, err)
	}
	first := commit(t, r, "drift 1", modify("a", "a2\n"))
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, remote, "drift/a"); got != first {
		t.Fatalf("remote drift/a = %s, want %s", got, first)
	}

	// A fresh clone has the remote's branch only as origin/drift/a.
	clone := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, filepath.Dir(clone), "clone", "--quiet", remote, clone)
	r = open(t, clone, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	setRemote(t, r, Remote{URL: remote})
	if moved, _, err := r.Pull(t.Context()); err != nil || !moved {
		t.Fatalf("Pull of a branch only the remote has = %v, %v; want it moved", moved, err)
	}
	second := commit(t, r, "drift 2", modify("a", "a2\n"), add("e", "e1\n"))
	if got := parents(t, clone, second); !cmp.Equal(got, []string{first}) {
		t.Errorf("the clone's drift commit has parents %v, want the remote's %s", got, first)
	}
	if _, _, err := r.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, remote, "drift/a"); got != second {
		t.Errorf("remote drift/a = %s, want %s", got, second)
	}
	log := strings.Fields(gitCLI(t, remote, "reflog", "show", "--format=%H", "refs/heads/drift/a"))
	for i := 0; i+1 < len(log); i++ {
		if !gitCLIOK(remote, "merge-base", "--is-ancestor", log[i+1], log[i]) {
			t.Errorf("drift/a moved from %s to %s, not a fast-forward", log[i+1], log[i])
		}
	}
	want := []string{"A clusters/a/e", "M clusters/a/a"}
	if diff := cmp.Diff(want, prDiff(t, remote, "main", "drift/a")); diff != "" {
		t.Errorf("PR diff on the remote (-want +got):\n%s", diff)
	}
	fsck(t, remote)
	fsck(t, clone)
}

func TestBaseThatTookTheDriftIsMergedIn(t *testing.T) {
	dir := reviewed(t)
	r := open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	drift := commit(t, r, "drift", modify("a", "a2\n"), add("d", "d1\n"))

	// A reviewer takes the drift into main as it is: main's tree is now
	// the drift branch's.
	gitCLI(t, dir, "merge", "--quiet", "--squash", "drift/a")
	gitCLI(t, dir, "commit", "--quiet", "-m", "take the drift")
	took := rev(t, dir, "main")
	if got, want := rev(t, dir, "main^{tree}"), rev(t, dir, "drift/a^{tree}"); got != want {
		t.Fatalf("setup: main's tree %s is not the drift's %s", got, want)
	}

	r = open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	caught := commit(t, r, "no drift")
	if caught == "" {
		t.Fatal("no commit: the branch keeps an old merge base, and the pull request shows the drift main took")
	}
	if got, want := parents(t, dir, caught), []string{drift, took}; !cmp.Equal(got, want) {
		t.Errorf("parents %v, want the drift commit and main %v", got, want)
	}
	if got := prDiff(t, dir, "main", "drift/a"); len(got) != 0 {
		t.Errorf("PR diff = %v, want none", got)
	}
	r = open(t, dir, Options{Prefix: "clusters/a", Branch: "drift/a", Base: "main"})
	if id, err := r.Commit(t.Context(), nil, "still no drift"); err != nil || id != "" {
		t.Errorf("a second run without drift made commit %q (%v), want none", id, err)
	}
	fsck(t, dir)
}
