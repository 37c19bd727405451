package gitstore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// childEnv switches the test binary into a child that maintains or
// commits to the repository it names, until it is killed.
const childEnv = "KUBESNAP_GITSTORE_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// runChild is the child: "maintain DIR" runs one maintenance,
// "loosepack DIR" a loose pack beside a roll-up (loosePackChild),
// "commit DIR" commits one-object changes without end, "commit-bg DIR"
// too, with the index written in the background as the watcher does.
func runChild(spec string) int {
	verb, dir, _ := strings.Cut(spec, " ")
	var opts Options
	if verb == "commit-bg" {
		verb, opts.IndexInBackground = "commit", true
	}
	r, err := Open(dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	switch verb {
	case "maintain":
		if _, err := r.Maintain(ctx, MaintainOptions{MinLoose: 1}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "loosepack":
		if err := loosePackChild(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "commit":
		for i := 0; ; i++ {
			c := snapsync.Change{Op: snapsync.Modified, Path: fmt.Sprintf("namespaces/ns-%02d/configmaps/cm-%04d.yaml", i%10, i%100), Data: fmt.Appendf(nil, "child: %d\n", i)}
			if _, err := r.Commit(ctx, []snapsync.Change{c}, "child\n"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

// killTemplate writes a repository with a pack, two small packs and a
// few hundred loose objects, and returns it with every commit's id.
func killTemplate(t *testing.T) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "template")
	r, ids := historyRepo(t, dir, 1000, 0)
	for round := range 12 {
		var cs []snapsync.Change
		n := 40 // loose objects
		if round%6 == 0 {
			n = 120 // a small pack
		}
		for i := range n {
			cs = append(cs, modify(fmt.Sprintf("namespaces/ns-%02d/configmaps/cm-%04d.yaml", i%10, (i*13+round)%1000), fmt.Sprintf("r%d i%d\n", round, i)))
		}
		ids = append(ids, commit(t, r, "round\n", cs...))
	}
	return dir, ids
}

// copyRepo copies a repository with cp -a.
func copyRepo(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
}

// killAfter starts the child on dir and SIGKILLs it after d (or lets it
// end, when it ends first).
func killAfter(t *testing.T, verb, dir string, d time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+verb+" "+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-time.After(d):
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Logf("kill: %v (the child ended first)", err)
		}
		if err := <-done; err == nil {
			t.Logf("the child ended before the kill after %s", d)
		}
	case err := <-done:
		if err != nil {
			t.Fatalf("child %s: %v", verb, err)
		}
	}
}

func TestSIGKILLDuringMaintenanceLosesNothing(t *testing.T) {
	template, ids := killTemplate(t)
	head := rev(t, template, "HEAD")
	delays := []time.Duration{0, 5, 10, 20, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 600, 1000}
	if testing.Short() {
		delays = []time.Duration{0, 30, 100, 300}
	}
	for _, ms := range delays {
		d := ms * time.Millisecond
		dir := filepath.Join(t.TempDir(), "repo")
		copyRepo(t, template, dir)
		killAfter(t, "maintain", dir, d)
		if got := rev(t, dir, "HEAD"); got != head {
			t.Fatalf("killed after %s: HEAD %s, want %s", d, got, head)
		}
		r := open(t, dir, Options{})
		allReadable(t, dir, r, ids)
		res, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1})
		if err != nil || res.Skipped != "" && res.Skipped != "nothing to gather" {
			t.Fatalf("killed after %s: the next maintenance: %+v, %v", d, res, err)
		}
		allReadable(t, dir, r, ids)
		if l, _ := objectCounts(t, dir); l != 0 {
			t.Errorf("killed after %s: %d loose objects after the next maintenance, want 0", d, l)
		}
	}
}

func TestSIGKILLDuringCommitsLeavesNoBrokenCommit(t *testing.T) {
	template, _ := killTemplate(t)
	for i, ms := range []time.Duration{50, 100, 150, 200, 300, 500, 700, 60, 120, 250, 400} {
		d := ms * time.Millisecond
		dir := filepath.Join(t.TempDir(), "repo")
		copyRepo(t, template, dir)
		verb := "commit"
		if i >= 7 {
			verb = "commit-bg" // the index of the last commit may be half written
		}
		killAfter(t, verb, dir, d)
		// fsck --strict checks every object on disk, reachable or not:
		// a commit written before its tree would be a broken link.
		gitCLI(t, dir, "fsck", "--strict")
		r := open(t, dir, Options{}) // finishes the interrupted commit's worktree
		if _, err := r.At(""); err != nil {
			t.Fatalf("killed after %s: the branch head: %v", d, err)
		}
		clean(t, dir)
	}
}
