package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

func TestSnapshotStoresEveryExampleObjectOnce(t *testing.T) {
	testenv.Require(t, env)
	files := glob(t, "../../examples/workloads/*.yaml")
	env.Kubectl(t, "", "apply", "-f", "../../examples/workloads/00-namespaces.yaml", "-f", "../../examples/workloads/01-crd.yaml")
	env.Kubectl(t, "", "wait", "--for", "condition=established", "crd/widgets.example.com")
	env.Kubectl(t, "", "apply", "-f", "../../examples/workloads/")
	repo := t.TempDir()

	out := mustSnapshot(t, repo)
	if !strings.Contains(out, "added") {
		t.Fatalf("first snapshot made no commit: %s", out)
	}
	objs := stored(t, repo)
	for _, want := range readObjects(t, files...) {
		if want.GetNamespace() == "" && want.GetKind() != "Namespace" && !clusterScoped[want.GetKind()] {
			want.SetNamespace("default")
		}
		if _, ok := objs[objKey(want)]; !ok {
			t.Errorf("%s is not in the repository", objKey(want))
		}
	}
	checkClean(t, objs)
	for _, o := range objs {
		if o.GetKind() == "Pod" || o.GetKind() == "ReplicaSet" || o.GetKind() == "Event" {
			t.Errorf("%s is captured but is owned or ephemeral", objKey(o))
		}
	}
	checkNoSecretValues(t, repo, "do-not-commit-me")
	if s := git(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("git status after snapshot is not clean:\n%s", s)
	}

	out = mustSnapshot(t, repo)
	if !strings.HasPrefix(out, "no changes") {
		t.Errorf("second snapshot of an unchanged cluster: %q, want no changes", out)
	}
	if n := strings.Count(git(t, repo, "log", "--oneline"), "\n"); n != 1 {
		t.Errorf("%d commits after two snapshots of an unchanged cluster, want 1", n)
	}

	env.Kubectl(t, "", "-n", "billing", "patch", "configmap", "invoice-settings", "-p", `{"data":{"retries":"5"}}`)
	mustSnapshot(t, repo)
	changed := strings.Fields(git(t, repo, "diff", "--name-only", "HEAD~1", "HEAD"))
	if want := []string{"namespaces/billing/configmaps/invoice-settings.yaml"}; strings.Join(changed, " ") != strings.Join(want, " ") {
		t.Errorf("changing one ConfigMap changed %v, want %v", changed, want)
	}
	msg := git(t, repo, "log", "-1", "--format=%B")
	for _, want := range []string{"Update 1 object in billing: configmaps/invoice-settings (kubectl-patch)", "M namespaces/billing/configmaps/invoice-settings.yaml (kubectl-patch)", "Kubesnap-Server-Version: v1.37.2", "Kubesnap-Resource-Version: ", "Kubesnap-Objects: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}

	env.Kubectl(t, "", "-n", "billing", "delete", "widget", "red-widget")
	mustSnapshot(t, repo)
	if _, err := os.Stat(filepath.Join(repo, "namespaces/billing/widgets.example.com/red-widget.yaml")); !os.IsNotExist(err) {
		t.Errorf("deleted widget still in the worktree: %v", err)
	}
	if _, ok := stored(t, repo)["example.com/Widget/billing/red-widget"]; ok {
		t.Error("deleted widget still in HEAD")
	}

	logOut, _, code := kubesnap(t, "log", "--repo", repo, "-o", "json")
	var entries []struct {
		Commit  string
		Changed int `json:"objectsChanged"`
		Summary string
	}
	if code != 0 || json.Unmarshal([]byte(logOut), &entries) != nil || len(entries) != 3 {
		t.Fatalf("log -o json = %d %s, want 3 entries", code, logOut)
	}
	if entries[0].Changed != 1 || !strings.HasPrefix(entries[0].Summary, "Delete 1 object in billing") {
		t.Errorf("newest log entry = %+v", entries[0])
	}
}

var clusterScoped = map[string]bool{"CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true, "PriorityClass": true}

// checkNoSecretValues searches every blob of every commit for the values.
func checkNoSecretValues(t *testing.T, repo string, values ...string) {
	t.Helper()
	objects := git(t, repo, "rev-list", "--objects", "--all")
	for _, line := range strings.Split(strings.TrimSpace(objects), "\n") {
		id, _, _ := strings.Cut(line, " ")
		blob := git(t, repo, "cat-file", "-p", id)
		for _, v := range values {
			if strings.Contains(blob, v) || strings.Contains(blob, b64(v)) {
				t.Errorf("object %s holds a Secret value", line)
			}
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestIncludeResourcesOverridesADefaultSkip(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: my-lock}
spec: {holderIdentity: me}
`, "-n", ns, "apply", "-f", "-")
	lease := "coordination.k8s.io/Lease/" + ns + "/my-lock"

	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	if _, ok := stored(t, repo)[lease]; ok {
		t.Error("a Lease was captured by default")
	}
	if cov := git(t, repo, "show", "HEAD:.kubesnap/coverage.txt"); !strings.Contains(cov, "leases are held by running processes") {
		t.Errorf("coverage does not say why leases are skipped:\n%s", cov)
	}

	named := t.TempDir()
	mustSnapshot(t, named, "--include-namespaces", ns, "--include-resources", "leases.coordination.k8s.io")
	if _, ok := stored(t, named)[lease]; !ok {
		t.Error("a Lease named in --include-resources was not captured")
	}
}
