package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// An aggregated API whose backing service does not exist makes discovery of
// its group fail, as an unavailable metrics-server does in real clusters.
func TestSnapshotReportsFailedDiscoveryAndGoesOn(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "still-captured", "--from-literal=k=v")
	env.Kubectl(t, `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.broken.kubesnap.io
spec:
  group: broken.kubesnap.io
  version: v1alpha1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    name: nowhere
    namespace: `+ns+`
`, "apply", "-f", "-")
	t.Cleanup(func() {
		if out, err := env.KubectlErr("", "delete", "apiservice", "v1alpha1.broken.kubesnap.io"); err != nil {
			t.Errorf("delete apiservice: %v: %s", err, out)
		}
	})
	// The availability controller needs a moment to mark it unavailable.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(env.Kubectl(t, "", "get", "apiservice", "v1alpha1.broken.kubesnap.io", "-o", "jsonpath={.status.conditions[0].status}"), "False") {
		if time.Now().After(deadline) {
			t.Fatal("the broken APIService never became unavailable")
		}
		time.Sleep(200 * time.Millisecond)
	}
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	coverage := git(t, repo, "show", "HEAD:.kubesnap/coverage.txt")
	if !strings.Contains(coverage, "groupVersion: broken.kubesnap.io/v1alpha1") {
		t.Errorf("coverage does not name the group whose discovery failed:\n%s", coverage)
	}
	if _, ok := stored(t, repo)["/ConfigMap/"+ns+"/still-captured"]; !ok {
		t.Error("a failed group stopped the rest of the snapshot")
	}
}
