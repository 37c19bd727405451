package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// oneLine fails unless msg is a single line holding every part of want.
func oneLine(t *testing.T, msg string, want ...string) {
	t.Helper()
	msg = strings.TrimSpace(msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestSnapshotBadInputGetsOneClearLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unreachable := write("unreachable", `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`)
	garbage := write("garbage", "{{{ this is not a kubeconfig")
	file := write("file", "not a folder")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"an unreachable API server", []string{"snapshot", "--repo", filepath.Join(dir, "r1"), "--kubeconfig", unreachable}, 1, []string{"cannot reach the API server at 127.0.0.1:1", "--kubeconfig"}},
		{"a kubeconfig that does not parse", []string{"snapshot", "--repo", filepath.Join(dir, "r2"), "--kubeconfig", garbage}, 1, []string{"kubeconfig", garbage}},
		{"a repository path that is a file", []string{"snapshot", "--repo", file, "--kubeconfig", unreachable}, 1, []string{file, "is a file"}},
		{"no --repo", []string{"snapshot"}, 2, []string{"--repo is required"}},
		{"an unknown flag", []string{"snapshot", "--repo", dir, "--colour"}, 2, []string{"unknown flag: --colour"}},
		{"a bad selector", []string{"snapshot", "--repo", dir, "-l", "a in (b"}, 2, []string{"bad --selector"}},
		{"a bad resource name", []string{"snapshot", "--repo", dir, "--include-resources", "Deployments"}, 2, []string{"bad resource \"Deployments\""}},
		{"a bad output format", []string{"log", "--repo", dir, "-o", "yaml"}, 2, []string{"bad -o \"yaml\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := kubesnap(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%s)", code, tt.code, errOut)
			}
			oneLine(t, errOut, tt.want...)
		})
	}
	for _, r := range []string{"r1", "r2"} {
		if _, err := os.Stat(filepath.Join(dir, r)); !os.IsNotExist(err) {
			t.Errorf("a snapshot that failed before reaching the cluster left %s behind: %v", r, err)
		}
	}
}

func TestSnapshotRefusesUncommittedEdits(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "a", "--from-literal=k=v")
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	head := git(t, repo, "rev-parse", "HEAD")
	edited := filepath.Join("namespaces", ns, "configmaps", "a.yaml")
	if err := os.WriteFile(filepath.Join(repo, edited), []byte("a person's edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "b", "--from-literal=k=v")

	_, errOut, code := kubesnap(t, "snapshot", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	oneLine(t, errOut, "uncommitted changes", edited)
	if got := git(t, repo, "rev-parse", "HEAD"); got != head {
		t.Error("snapshot committed over a person's edit")
	}
	if data, _ := os.ReadFile(filepath.Join(repo, edited)); string(data) != "a person's edit\n" {
		t.Errorf("the edited file was overwritten: %q", data)
	}
}

func TestSnapshotListsForbiddenTypesAsSkipped(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "visible", "--from-literal=k=v")
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "hidden", "--from-literal=k=v")
	limitedUser(t, ns)
	repo := t.TempDir()
	out, errOut, code := kubesnap(t, "snapshot", "--repo", repo, "--kubeconfig", env.LimitedKubeconfig, "--include-namespaces", ns, "--allow-stale-secrets")
	if code != 0 {
		t.Fatalf("snapshot as a user who may read only some types exited %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "cannot read the digest key Secret") || !strings.Contains(errOut, "--allow-stale-secrets") {
		t.Errorf("no warning that the digest key could not be read:\n%s", errOut)
	}
	if !strings.Contains(out, "skipped secrets: forbidden") {
		t.Errorf("output does not name the forbidden type:\n%s", out)
	}
	coverage := git(t, repo, "show", "HEAD:.kubesnap/coverage.txt")
	if !strings.Contains(coverage, "reason: 'forbidden: list secrets") && !strings.Contains(coverage, "forbidden: list secrets") {
		t.Errorf("coverage does not list secrets as forbidden:\n%s", coverage)
	}
	objs := stored(t, repo)
	if _, ok := objs["/ConfigMap/"+ns+"/visible"]; !ok {
		t.Error("the readable ConfigMap was not captured")
	}
}
