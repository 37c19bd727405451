package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kubeconfigWithContexts is a kubeconfig of three contexts over two
// clusters and two users; no cluster behind it answers. A server URL
// carries a password, a user a token: neither may be shown.
func kubeconfigWithContexts(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, file, `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://admin:hunter2@127.0.0.1:1"}
- name: staging
  cluster: {server: "https://127.0.0.2:1"}
users:
- name: alice
  user: {token: alice-secret-token}
- name: bob
  user: {token: bob-secret-token}
contexts:
- name: prod-admin
  context: {cluster: prod, user: alice}
- name: prod-view
  context: {cluster: prod, user: bob}
- name: staging
  context: {cluster: staging, user: alice, namespace: web}
current-context: staging
`)
	return file
}

func TestCompletionOfKubeconfigNames(t *testing.T) {
	kc := kubeconfigWithContexts(t)
	other := filepath.Join(t.TempDir(), "other")
	writeFile(t, other, `apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://127.0.0.3:1"}}]
users: [{name: carol, user: {token: t}}]
contexts: [{name: lab, context: {cluster: lab, user: carol}}]
`)
	contexts := []string{"prod-admin\tcluster prod, user alice", "prod-view\tcluster prod, user bob", "staging\tcurrent; cluster staging, user alice"}
	tests := []struct {
		name, kubeconfigEnv string
		args                []string
		want                []string
	}{
		{"diff --context: the contexts of --kubeconfig", "", []string{"diff", "--kubeconfig", kc, "--context", ""}, contexts},
		{"snapshot --context", "", []string{"snapshot", "--kubeconfig", kc, "--context", ""}, contexts},
		{"watch --context", "", []string{"watch", "--kubeconfig", kc, "--context", ""}, contexts},
		{"restore --context", "", []string{"restore", "--kubeconfig", kc, "--context", ""}, contexts},
		{"rules --context", "", []string{"rules", "--kubeconfig", kc, "--context", ""}, contexts},
		{"only what starts with the word typed", "", []string{"diff", "--kubeconfig", kc, "--context", "prod"}, contexts[:2]},
		{"KUBECONFIG when --kubeconfig is not typed", kc, []string{"diff", "--context", ""}, contexts},
		{"KUBECONFIG's files merged", kc + string(os.PathListSeparator) + other, []string{"diff", "--context", ""}, append([]string{"lab\tcluster lab, user carol"}, contexts...)},
		{"--kubeconfig over KUBECONFIG", other, []string{"diff", "--kubeconfig", kc, "--context", "s"}, contexts[2:]},
		{"--cluster: described by the server's host alone", "", []string{"diff", "--kubeconfig", kc, "--cluster", ""}, []string{"prod\t127.0.0.1:1", "staging\t127.0.0.2:1"}},
		{"--user: names alone", "", []string{"diff", "--kubeconfig", kc, "--user", ""}, []string{"alice", "bob"}},
		{"a --kubeconfig that does not exist", "", []string{"diff", "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--context", ""}, nil},
		{"a --kubeconfig that is not one", "", []string{"diff", "--kubeconfig", writeTemp(t, "contexts: [\n"), "--context", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfigEnv)
			got := complete(t, tt.args...)
			checkCompleted(t, got, tt.want, noFiles)
			for _, secret := range []string{"hunter2", "secret-token"} {
				if strings.Contains(strings.Join(got.lines, "\n"), secret) {
					t.Errorf("a completion shows %q: %q", secret, got.lines)
				}
			}
		})
	}
}

// writeTemp writes data to a new file and returns its path.
func writeTemp(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	writeFile(t, p, data)
	return p
}

// silentServer is a kubeconfig of a server that takes connections and
// never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed at cleanup
			}
			accepted <- c // held open, never written to
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-accepted:
				if err := c.Close(); err != nil {
					t.Logf("close a held connection: %v", err)
				}
			default:
				return
			}
		}
	})
	file := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, file, `apiVersion: v1
kind: Config
clusters: [{name: silent, cluster: {server: "https://`+l.Addr().String()+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: silent, context: {cluster: silent, user: u}}]
current-context: silent
`)
	return file
}

func TestCompletionFromAClusterThatDoesNotAnswer(t *testing.T) {
	repo, _ := completionFixture(t)
	noneFrom := func(t *testing.T, args ...string) {
		t.Helper()
		got := complete(t, args...)
		if len(got.lines) != 0 || got.directive&noFiles == 0 {
			t.Errorf("%q: completions %q, directive %d; want none, and no files", args, got.lines, got.directive)
		}
	}
	t.Run("refused", func(t *testing.T) {
		kc := unreachable(t)
		t.Setenv("KUBECONFIG", kc)
		noneFrom(t, "diff", "--kubeconfig", kc, "--include-resources", "")
		noneFrom(t, "snapshot", "--kubeconfig", kc, "--exclude-namespaces", "")
		noneFrom(t, "restore", "--include-resources", "configmaps,")
		noneFrom(t, "history", "")
		noneFrom(t, "show", "HEAD", "configmaps/")
		// With a repository, the filters fall back to its types and
		// namespaces (at --rev).
		checkCompleted(t, complete(t, "diff", "--repo", repo, "--include-resources", "configmaps,"),
			[]string{"configmaps,clusterroles.rbac.authorization.k8s.io", "configmaps,deployments.apps", "configmaps,namespaces"}, noFiles)
		checkCompleted(t, complete(t, "restore", "--repo", repo, "--rev", "v1", "--exclude-namespaces", ""),
			[]string{"shop"}, noFiles)
		checkCompleted(t, complete(t, "snapshot", "--repo", repo, "--sensitive-resources", "dep"),
			[]string{"deployments.apps"}, noFiles)
	})
	t.Run("silent", func(t *testing.T) {
		// Each of these waits for a request to time out.
		kc := silentServer(t)
		t.Setenv("KUBECONFIG", kc)
		noneFrom(t, "diff", "--include-resources", "")
		noneFrom(t, "history", "configmaps/")
		checkCompleted(t, complete(t, "diff", "--repo", repo, "--kubeconfig", kc, "--include-namespaces", "o"),
			[]string{"other"}, noFiles)
	})
}
