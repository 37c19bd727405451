package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/internal/testenv"
)

// prDiff is what a pull request from branch into base shows: git diff
// base...branch, as sorted "status path" lines (no rename detection: a
// deleted and a new object of the same kind often look alike).
func prDiff(t *testing.T, repo, base, branch string) []string {
	t.Helper()
	out := []string{}
	for _, l := range strings.Split(git(t, repo, "diff", "--no-renames", "--name-status", base+"..."+branch), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	sort.Strings(out)
	return out
}

func revParse(t *testing.T, repo, rev string) string {
	t.Helper()
	return strings.TrimSpace(git(t, repo, "rev-parse", "--verify", rev))
}

func parentsOf(t *testing.T, repo, rev string) []string {
	t.Helper()
	return strings.Fields(git(t, repo, "log", "-1", "--format=%P", rev))
}

// gitCommit commits files (path → content) on the checked-out branch with
// the git CLI, as a reviewer merging a change would.
func gitCommit(t *testing.T, repo, msg string, files map[string]string) string {
	t.Helper()
	for p, data := range files {
		file := filepath.Join(repo, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, repo, "add", p)
	}
	git(t, repo, "-c", "user.name=reviewer", "-c", "user.email=r@example.com", "commit", "--quiet", "-m", msg)
	return revParse(t, repo, "HEAD")
}

// fastForwardsOnly checks from the remote's reflog that every move of
// branch was a fast-forward.
func fastForwardsOnly(t *testing.T, remote, branch string) {
	t.Helper()
	moves := strings.Fields(git(t, remote, "reflog", "show", "--format=%H", "refs/heads/"+branch))
	if len(moves) == 0 {
		t.Errorf("the remote has no reflog of %s", branch)
	}
	for i := 0; i+1 < len(moves); i++ {
		if _, err := runGit(remote, "merge-base", "--is-ancestor", moves[i+1], moves[i]); err != nil {
			t.Errorf("%s moved from %s to %s on the remote, not a fast-forward", branch, moves[i+1], moves[i])
		}
	}
}

// runGit runs git in repo and returns its error instead of failing.
func runGit(repo string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
	return string(out), err
}

func TestDriftBranchHoldsExactlyTheDrift(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	for _, n := range []string{"a", "b", "c"} {
		env.Kubectl(t, "", "-n", ns, "create", "configmap", n, "--from-literal=k="+n)
	}
	scope := []string{"--include-namespaces", ns, "--include-resources", "configmaps"}
	drift := append([]string{"--branch", "drift/test", "--base", "main"}, scope...)
	repo := t.TempDir()
	mustSnapshot(t, repo, scope...)
	reviewed := revParse(t, repo, "main")

	out := mustSnapshot(t, repo, drift...)
	if !strings.HasPrefix(out, "no drift from main (") {
		t.Errorf("snapshot --base of a cluster as reviewed = %q, want no drift", out)
	}
	if _, err := runGit(repo, "rev-parse", "--verify", "--quiet", "refs/heads/drift/test"); err == nil {
		t.Error("no drift created the drift branch")
	}

	dir := "namespaces/" + ns + "/configmaps/"
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "a", "-p", `{"data":{"k":"changed"}}`)
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "b")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "d", "--from-literal=k=d")
	out = mustSnapshot(t, repo, append(drift, "-o", "json")...)
	var rep struct {
		Commit, Branch, Base, BaseCommit string
		Added, Modified, Deleted         int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	first := revParse(t, repo, "drift/test")
	wantRep := struct {
		Commit, Branch, Base, BaseCommit string
		Added, Modified, Deleted         int
	}{first, "drift/test", "main", reviewed, 1, 1, 1}
	if diff := cmp.Diff(wantRep, rep); diff != "" {
		t.Errorf("-o json (-want +got):\n%s", diff)
	}
	want := []string{"A " + dir + "d.yaml", "D " + dir + "b.yaml", "M " + dir + "a.yaml"}
	if diff := cmp.Diff(want, prDiff(t, repo, "main", "drift/test")); diff != "" {
		t.Errorf("PR diff main...drift/test (-want +got):\n%s", diff)
	}
	if got := parentsOf(t, repo, first); !cmp.Equal(got, []string{reviewed}) {
		t.Errorf("first drift commit has parents %v, want the base %s", got, reviewed)
	}
	msg := git(t, repo, "log", "-1", "--format=%B", "drift/test")
	for _, w := range []string{
		"Drift from main (" + reviewed[:7] + "): 3 objects differ\n\n",
		"| Status | Object | Path |",
		"| changed | configmaps/" + ns + "/a | ",
		"| missing live | configmaps/" + ns + "/b | ",
		"| new live | configmaps/" + ns + "/d | ",
		"\n\nKubesnap-Cluster: ",
		"\nKubesnap-Server-Version: v1.37.2\nKubesnap-Resource-Version: ",
		"\nKubesnap-Objects: 3\n",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("drift commit message lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "```") {
		t.Errorf("drift commit message holds diffs, want only the table:\n%s", msg)
	}
	if got := revParse(t, repo, "HEAD"); got != reviewed {
		t.Errorf("HEAD moved from %s to %s", reviewed, got)
	}
	if s := git(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("the worktree changed:\n%s", s)
	}

	// The same drift again: no commit.
	out = mustSnapshot(t, repo, drift...)
	if !strings.HasPrefix(out, "drift/test is up to date: 3 objects differ from main") {
		t.Errorf("snapshot --base with the same drift = %q, want up to date", out)
	}
	if got := revParse(t, repo, "drift/test"); got != first {
		t.Errorf("the same drift moved the branch to %s", got)
	}

	// More drift: a commit on top, a fast-forward.
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "c", "-p", `{"data":{"k":"changed"}}`)
	mustSnapshot(t, repo, drift...)
	second := revParse(t, repo, "drift/test")
	if got := parentsOf(t, repo, second); !cmp.Equal(got, []string{first}) {
		t.Errorf("more drift has parents %v, want the last drift commit %s", got, first)
	}
	want = []string{"A " + dir + "d.yaml", "D " + dir + "b.yaml", "M " + dir + "a.yaml", "M " + dir + "c.yaml"}
	if diff := cmp.Diff(want, prDiff(t, repo, "main", "drift/test")); diff != "" {
		t.Errorf("PR diff after more drift (-want +got):\n%s", diff)
	}

	// main moves on: a reviewed change beside the cluster's files.
	moved := gitCommit(t, repo, "Document the cluster", map[string]string{"README.md": "# prod\n"})
	mustSnapshot(t, repo, drift...)
	third := revParse(t, repo, "drift/test")
	if got := parentsOf(t, repo, third); !cmp.Equal(got, []string{second, moved}) {
		t.Errorf("drift after main moved has parents %v, want the last drift commit and main %v", got, []string{second, moved})
	}
	if diff := cmp.Diff(want, prDiff(t, repo, "main", "drift/test")); diff != "" {
		t.Errorf("PR diff after main moved (-want +got):\n%s", diff)
	}

	// The drift is accepted into main: the branch catches up, and the
	// pull request shows nothing.
	mustSnapshot(t, repo, scope...)
	out = mustSnapshot(t, repo, drift...)
	if !strings.Contains(out, "drift/test: no objects differ from main") {
		t.Errorf("snapshot --base after main took the drift = %q, want a commit with no drift", out)
	}
	if got := prDiff(t, repo, "main", "drift/test"); len(got) != 0 {
		t.Errorf("PR diff after main took the drift = %v, want none", got)
	}
	if got := parentsOf(t, repo, "drift/test"); len(got) != 2 || got[0] != third {
		t.Errorf("catching up has parents %v, want the last drift commit and main", got)
	}
	git(t, repo, "fsck", "--strict", "--no-progress")
}

func TestDriftBranchIsPushedAndContinuedFromAFreshClone(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "a", "--from-literal=k=a")
	scope := []string{"--include-namespaces", ns, "--include-resources", "configmaps"}
	remote := filepath.Join(t.TempDir(), "remote.git")
	git(t, filepath.Dir(remote), "init", "--quiet", "--bare", "--initial-branch=main", remote)
	git(t, remote, "config", "core.logAllRefUpdates", "always")

	// A plain snapshot with --remote pushes main.
	repo := t.TempDir()
	mustSnapshot(t, repo, append([]string{"--remote", remote}, scope...)...)
	reviewed := revParse(t, repo, "main")
	if got := revParse(t, remote, "main"); got != reviewed {
		t.Fatalf("remote main = %s, want %s", got, reviewed)
	}

	drift := append([]string{"--branch", "drift/test", "--base", "main", "--remote", remote}, scope...)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "b", "--from-literal=k=b")
	mustSnapshot(t, repo, drift...)
	first := revParse(t, repo, "drift/test")
	if got := revParse(t, remote, "drift/test"); got != first {
		t.Fatalf("remote drift/test = %s, want %s", got, first)
	}

	// A fresh clone: main checked out, drift/test only on the remote.
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "--quiet", remote, clone)
	if _, err := runGit(clone, "rev-parse", "--verify", "--quiet", "refs/heads/drift/test"); err == nil {
		t.Fatal("the clone has a local drift/test already")
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "c", "--from-literal=k=c")
	mustSnapshot(t, clone, drift...)
	second := revParse(t, clone, "drift/test")
	if got := parentsOf(t, clone, second); !cmp.Equal(got, []string{first}) {
		t.Errorf("the clone's drift commit has parents %v, want the remote's head %s", got, first)
	}
	if got := revParse(t, remote, "drift/test"); got != second {
		t.Errorf("remote drift/test = %s, want the clone's %s", got, second)
	}
	fastForwardsOnly(t, remote, "drift/test")
	dir := "namespaces/" + ns + "/configmaps/"
	want := []string{"A " + dir + "b.yaml", "A " + dir + "c.yaml", "M .kubesnap/coverage.txt"}
	if diff := cmp.Diff(want, prDiff(t, remote, "main", "drift/test")); diff != "" {
		t.Errorf("PR diff on the remote (-want +got):\n%s", diff)
	}
	for _, r := range []string{repo, clone, remote} {
		git(t, r, "fsck", "--strict", "--no-progress")
	}
}

func TestDriftRefusalsAreOneLineAndWriteNothing(t *testing.T) {
	repo := t.TempDir()
	git(t, repo, "init", "--quiet", "--initial-branch=main")
	gitCommit(t, repo, "reviewed", map[string]string{"namespaces/a/configmaps/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n"})
	before := git(t, repo, "for-each-ref") + git(t, repo, "count-objects")
	missing := filepath.Join(t.TempDir(), "missing")
	kubeconfig := filepath.Join(t.TempDir(), "unused")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"--base without --branch", []string{"--repo", repo, "--base", "main"}, 2, []string{"--base needs --branch"}},
		{"an unknown revision", []string{"--repo", repo, "--branch", "drift/x", "--base", "nope"}, 1, []string{"--base", `revision "nope" not found`}},
		{"the checked-out branch", []string{"--repo", repo, "--branch", "main", "--base", "main"}, 1, []string{"branch main is checked out", "--branch"}},
		{"a repository without commits", []string{"--repo", missing, "--branch", "drift/x", "--base", "main"}, 1, []string{"--base main", "no commits yet"}},
		{"credentials without --remote", []string{"--repo", repo, "--branch", "drift/x", "--base", "main", "--ssh-key-file", "/nonexistent"}, 2, []string{"without --remote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := kubesnap(t, append([]string{"snapshot", "--kubeconfig", kubeconfig}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%s)", code, tt.code, errOut)
			}
			oneLine(t, errOut, tt.want...)
		})
	}
	if after := git(t, repo, "for-each-ref") + git(t, repo, "count-objects"); after != before {
		t.Errorf("a refused snapshot wrote to the repository:\n%s\nthen\n%s", before, after)
	}
	if s := git(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("a refused snapshot changed the worktree:\n%s", s)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a refused snapshot created %s: %v", missing, err)
	}
}
