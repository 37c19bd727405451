package main

import (
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// A checkout is safe to apply with the tools people have (issue 15,
// point 10): kubectl apply --server-side -R -f of a whole checkout into a
// cluster that holds the Secrets leaves every value as it was (the
// redaction marker is not base64: the API server refuses the file) and
// applies every other object; the coverage report is no .yaml file for
// kubectl to take for an object.
func TestApplyingACheckoutLeavesSecretValues(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "checkout-canary")
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "plain")
	before := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.data}")

	out, err := env.KubectlErr("", "apply", "--server-side", "--force-conflicts", "-R", "-f", repo)
	if err == nil {
		t.Fatalf("kubectl apply -R of a checkout holding redacted Secrets succeeded:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "error") && !strings.Contains(line, "secrets/") && !strings.Contains(line, "Secret") {
			t.Errorf("kubectl refused something other than a redacted Secret: %s", line)
		}
	}
	if strings.Contains(out, "coverage") {
		t.Errorf("kubectl read the coverage report as an object:\n%s", out)
	}
	if after := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.data}"); after != before {
		t.Error("applying the checkout changed the Secret's values")
	}
	if ann := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "jsonpath={.metadata.annotations}"); strings.Contains(ann, "kubesnap.io/redacted") {
		t.Errorf("applying the checkout marked the live Secret redacted: %s", ann)
	}
	env.Kubectl(t, "", "-n", ns, "get", "configmap", "plain")
	env.Kubectl(t, "", "-n", ns, "get", "widget", "credential")
}
