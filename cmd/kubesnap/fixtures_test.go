package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// fixtures is ../shared/fixtures seen from this package: manifests nobody
// on the project wrote, kept as published.
const fixtures = "../../../shared/fixtures/prometheus-operator"

func TestSnapshotPrometheusOperatorFixtures(t *testing.T) {
	testenv.Require(t, env)
	if _, err := os.Stat(fixtures); err != nil {
		t.Skipf("skipped: %s is absent (the fixtures live in ../shared beside the clone): %v", fixtures, err)
	}
	crds := glob(t, filepath.Join(fixtures, "crds", "*.yaml"))
	objects := glob(t, filepath.Join(fixtures, "getting-started", "*.yaml"))
	// The CRDs' schemas are too large for client-side apply's
	// last-applied annotation; server-side apply is what users run.
	env.Kubectl(t, "", "apply", "--server-side", "-f", filepath.Join(fixtures, "crds"))
	env.Kubectl(t, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", filepath.Join(fixtures, "crds"))
	ns := env.Namespace(t)
	env.Kubectl(t, "", "apply", "-n", ns, "-f", filepath.Join(fixtures, "getting-started"))

	repo := t.TempDir()
	mustSnapshot(t, repo)
	objs := stored(t, repo)
	for _, want := range readObjects(t, crds...) {
		if _, ok := objs[objKey(want)]; !ok {
			t.Errorf("%s is not in the repository", objKey(want))
		}
	}
	for _, want := range readObjects(t, objects...) {
		want.SetNamespace(ns)
		if _, ok := objs[objKey(want)]; !ok {
			t.Errorf("%s is not in the repository", objKey(want))
		}
	}
	checkClean(t, objs)

	if out := mustSnapshot(t, repo); out[:10] != "no changes" {
		t.Errorf("second snapshot: %q, want no changes", out)
	}
}
