package main

import (
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

func TestDiffBadInput(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "c", "--from-literal=v=1")
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns, "--include-resources", "configmaps"}
	mustSnapshot(t, repo, scope...)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no repo", []string{"diff"}, "--repo is required"},
		{"bad output", []string{"diff", "--repo", repo, "-o", "yaml"}, `bad -o "yaml"`},
		{"unknown revision", []string{"diff", "--repo", repo, "--rev", "nope"}, `revision "nope" not found`},
		{"unknown --to", []string{"diff", "--repo", repo, "--to", "HEAD~5"}, `revision "HEAD~5" not found`},
		{"empty folder", []string{"diff", "--repo", t.TempDir()}, "has no commits yet"},
		{"unreachable cluster", []string{"diff", "--repo", repo, "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}, "cannot reach the API server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := kubesnap(t, c.args...)
			if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, c.want)
			}
		})
	}

	// A file in the revision that is not an object stops the diff and is
	// named, with what to do.
	bad := "namespaces/" + ns + "/configmaps/c.yaml"
	commitFile(t, repo, bad, "kind: ConfigMap\napiVersion: v1\nmetadata: {name: other, namespace: "+ns+"}\n")
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "c", "-p", `{"data":{"v":"2"}}`)
	out, errOut, code := kubesnap(t, append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)...)
	if code != 2 || !strings.Contains(errOut, bad+": holds ConfigMap "+ns+"/other") || !strings.Contains(errOut, "fix or remove the file") || out != "" {
		t.Errorf("a file holding another object: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	commitFile(t, repo, bad, "{{ not yaml\n")
	_, errOut, code = kubesnap(t, append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)...)
	if code != 2 || !strings.Contains(errOut, bad+": ") {
		t.Errorf("a file that is not YAML: exit %d, stderr %q", code, errOut)
	}
}

func TestDiffRefusesWhatItCannotList(t *testing.T) {
	testenv.Require(t, env)
	repo := t.TempDir()
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "c", "--from-literal=v=1")
	mustSnapshot(t, repo, "--include-namespaces", ns, "--include-resources", "configmaps")

	// An aggregated API whose server is gone: discovery of its group
	// fails, so stored objects of it cannot be compared.
	env.Kubectl(t, `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.gone.kubesnap.test}
spec:
  group: gone.kubesnap.test
  version: v1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: nobody, namespace: default}
`, "apply", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "apiservice", "v1.gone.kubesnap.test") })
	commitFile(t, repo, "cluster/things.gone.kubesnap.test/x.yaml", "apiVersion: gone.kubesnap.test/v1\nkind: Thing\nmetadata: {name: x}\n")
	out, errOut, code := kubesnap(t, "diff", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--include-namespaces", ns, "--include-resources", "configmaps,things.gone.kubesnap.test")
	if code != 2 || !strings.Contains(errOut, "things.gone.kubesnap.test: discovery of gone.kubesnap.test/v1") {
		t.Errorf("diff with a stored object of a failed group = %d %q %q", code, out, errOut)
	}
}
