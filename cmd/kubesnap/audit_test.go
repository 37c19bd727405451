package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// auditCluster is a control plane whose API server posts its audit events
// to a watcher's --audit-listen on 127.0.0.1, with the users alice and bob.
type auditCluster struct {
	env     *testenv.Env
	webhook *testenv.AuditWebhook
}

// startAuditCluster starts a control plane of its own with the audit
// policy deploy/ ships, posting to webhook's address in batches of at most
// 200ms.
func startAuditCluster(t *testing.T) *auditCluster {
	t.Helper()
	testenv.Require(t, env)
	policy, err := os.ReadFile(filepath.Join("..", "..", "deploy", "audit", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wh, err := testenv.NewAuditWebhook(t.TempDir(), freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	e, err := testenv.Start(ctx, testenv.Options{
		Users:                  []string{"alice", "bob"},
		AuditPolicy:            policy,
		AuditWebhookKubeconfig: wh.Kubeconfig,
		ExtraAPIServerArgs:     []string{"--audit-webhook-batch-max-wait=200ms"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return &auditCluster{env: e, webhook: wh}
}

// watchArgs are the watch flags that receive the webhook's posts.
func (c *auditCluster) watchArgs() []string {
	w := c.webhook
	return []string{"--kubeconfig", c.env.Kubeconfig, "--audit-listen", w.Addr, "--audit-tls-cert-file", w.CertFile, "--audit-tls-key-file", w.KeyFile, "--audit-client-ca", w.ClientCAFile}
}

// as returns a client acting as user (a kubeconfig of the Env), or as a
// bearer token when user is empty.
func (c *auditCluster) as(t *testing.T, user, token string) kubernetes.Interface {
	t.Helper()
	var cfg *rest.Config
	var err error
	if user != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", c.env.UserKubeconfig(t, user))
	} else {
		cfg = rest.AnonymousClientConfig(c.env.Config)
		cfg.BearerToken = token
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg.UserAgent = "audit-test/" + cmp.Or(user, "token")
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// grantEdit lets alice, bob and the service account deployer edit
// ConfigMaps, Secrets and Deployments in ns, and returns deployer's token.
func (c *auditCluster) grantEdit(t *testing.T, ns string) string {
	t.Helper()
	ctx := t.Context()
	admin := c.env.Client(t)
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "edit"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	}}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "edit"}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"}, {Kind: "ServiceAccount", Name: "deployer", Namespace: ns}}}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		c.env.WaitAllowed(t, u, ns, "apps", "deployments", "create")
	}
	tok, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "deployer", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Status.Token
}

// namespace creates a namespace in the audit cluster (it has no
// controller-manager: nothing to wait for).
func (c *auditCluster) namespace(t *testing.T, name string) string {
	t.Helper()
	if _, err := c.env.Client(t).CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// commitsOf returns "author: files" for every commit after from.
func commitsOf(t *testing.T, repo, from string) []string {
	t.Helper()
	out := git(t, repo, "log", "--reverse", "--format=@%an", "--name-only", from+"..HEAD")
	var commits []string
	for _, block := range strings.Split(out, "@")[1:] {
		lines := strings.Fields(block)
		commits = append(commits, lines[0]+": "+strings.Join(lines[1:], " "))
	}
	return commits
}

const auditSecretValue = "s3cr3t-Audit-Value-9f2c"

// Users alice and bob and a service account change objects at the same
// time: each commit is authored by one of them and holds only their
// changes; a Secret changed by alice is committed as hers with its value
// nowhere; a forged audit post without the client certificate is
// refused and changes nothing.
func TestWatchAuthorsCommitsByTheAuditEventsUsers(t *testing.T) {
	c := startAuditCluster(t)
	ns := c.namespace(t, "shop")
	saToken := c.grantEdit(t, ns)
	repo := filepath.Join(t.TempDir(), "repo")
	metricsAddr := freeAddr(t)
	w := startWatch(t, repo, append(c.watchArgs(), "--include-namespaces", ns, "--debounce", "300ms", "--listen", metricsAddr)...)
	head := headCommit(t, repo)

	alice, bob, sa := c.as(t, "alice", ""), c.as(t, "bob", ""), c.as(t, "", saToken)
	ctx := t.Context()
	var wg gosync.WaitGroup
	for name, cs := range map[string]kubernetes.Interface{"alice": alice, "bob": bob, "deployer": sa} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i)}, Data: map[string]string{"by": name}}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": auditSecretValue}}
	if _, err := alice.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() bool {
		count := func(dir string) int {
			m, _ := filepath.Glob(filepath.Join(repo, "namespaces", ns, dir, "*.yaml"))
			return len(m)
		}
		return count("configmaps") == 9 && count("secrets") == 1
	}, "nine ConfigMaps and the Secret committed")
	eventually(t, 10*time.Second, func() bool { return !strings.Contains(git(t, repo, "status", "--porcelain"), "M") }, "the last commit written")

	owner := map[string]string{"alice": "alice", "bob": "bob", "deployer": "system:serviceaccount:" + ns + ":deployer"}
	perAuthor := map[string]int{}
	for _, commit := range commitsOf(t, repo, head) {
		author, files, _ := strings.Cut(commit, ": ")
		perAuthor[author]++
		for _, f := range strings.Fields(files) {
			if strings.HasPrefix(f, ".kubesnap/") {
				continue
			}
			name := strings.TrimSuffix(filepath.Base(f), ".yaml")
			want := owner[strings.Split(name, "-")[0]]
			if name == "db" {
				want = "alice"
			}
			if author != want {
				t.Errorf("%s committed by %q, want %q (commits: %q)", f, author, want, commitsOf(t, repo, head))
			}
		}
	}
	for _, u := range owner {
		if perAuthor[u] == 0 {
			t.Errorf("no commit by %s: %q", u, commitsOf(t, repo, head))
		}
	}
	msg := git(t, repo, "log", "-1", "--format=%B", "--author=^alice", "--", "namespaces/"+ns+"/secrets/db.yaml")
	for _, want := range []string{"Kubesnap-Audit-User: alice", "Kubesnap-Audit-User-Agent: audit-test/alice", "Kubesnap-Audit-Source-IP: 127.0.0.1", "Kubesnap-Audit-Match: approximate"} {
		if !strings.Contains(msg, want) {
			t.Errorf("alice's Secret commit lacks %q:\n%s", want, msg)
		}
	}
	// Deployments are logged at RequestResponse: the response's
	// resourceVersion names the change exactly.
	before := headCommit(t, repo)
	replicas := int32(0)
	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "deployer-web"}, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	if _, err := sa.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool { return headCommit(t, repo) != before }, "the Deployment committed")
	if msg := git(t, repo, "log", "-1", "--format=%an%n%B"); !strings.HasPrefix(msg, owner["deployer"]+"\n") || !strings.Contains(msg, "Kubesnap-Audit-Match: exact") {
		t.Errorf("the Deployment's commit is not the service account's, matched exactly:\n%s", msg)
	}

	// A forged post: no client certificate.
	forged := fmt.Sprintf(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Metadata","auditID":"f","stage":"ResponseComplete","verb":"update","user":{"username":"mallory"},"objectRef":{"resource":"configmaps","namespace":%q,"name":"alice-0","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":%q,"stageTimestamp":%q}]}`,
		ns, time.Now().Add(time.Second).Format(time.RFC3339Nano), time.Now().Add(time.Second).Format(time.RFC3339Nano))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.webhook.ServingCAPool()}}}
	resp, err := client.Post("https://"+c.webhook.Addr+"/audit", "application/json", strings.NewReader(forged))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a post without the client certificate was accepted: %s", resp.Status)
		}
	}
	before = headCommit(t, repo)
	if _, err := alice.CoreV1().ConfigMaps(ns).Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "alice-0"}, Data: map[string]string{"by": "alice", "again": "1"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool { return headCommit(t, repo) != before }, "alice's update committed")
	if got := strings.TrimSpace(git(t, repo, "log", "-1", "--format=%an")); got != "alice" {
		t.Errorf("after a forged post naming mallory, alice's update is committed by %q", got)
	}
	_, metrics := httpGet(t, metricsAddr, "/metrics")
	if !strings.Contains(metrics, "kubesnap_audit_refused_total") {
		t.Errorf("metrics do not count the refused post:\n%s", grepLines(metrics, "audit"))
	}

	// history and blame name the users.
	w.stop(t)
	hist, stderr, code := kubesnap(t, "history", "configmaps/"+ns+"/alice-0", "--repo", repo)
	if code != 0 || strings.Count(hist, "alice") < 2 || !strings.Contains(hist, "created") || !strings.Contains(hist, "data.again") {
		t.Errorf("history of alice-0 (exit %d, %s):\n%s", code, stderr, hist)
	}
	blame, stderr, code := kubesnap(t, "blame", "configmaps/"+ns+"/alice-0", "--repo", repo)
	if code != 0 || !strings.Contains(blame, "alice") || strings.Contains(blame, "kubesnap ") {
		t.Errorf("blame of alice-0 (exit %d, %s):\n%s", code, stderr, blame)
	}
	secretHist, stderr, code := kubesnap(t, "history", "secrets/"+ns+"/db", "--repo", repo, "-p", "-o", "json")
	if code != 0 || !strings.Contains(secretHist, `"alice"`) || strings.Contains(secretHist, auditSecretValue) {
		t.Errorf("history -p of the Secret (exit %d, %s):\n%s", code, stderr, secretHist)
	}

	// The Secret's value: not in git, not in the logs, not in the metrics.
	everything := git(t, repo, "log", "--all", "-p", "--format=%an %ae%n%B")
	for where, text := range map[string]string{"git": everything, "the watcher's log": w.log.String(), "the metrics": metrics} {
		if strings.Contains(text, auditSecretValue) {
			t.Errorf("the Secret's value is in %s", where)
		}
	}
	if objs := git(t, repo, "cat-file", "--batch-all-objects", "--batch"); strings.Contains(objs, auditSecretValue) {
		t.Error("the Secret's value is in a git object")
	}
}

// grepLines returns the lines of s holding sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// A certificate or token file that cannot be read stops the watcher at
// start with one line naming the file, before it touches the repository.
func TestWatchAuditFilesThatCannotBeReadStopIt(t *testing.T) {
	testenv.Require(t, env)
	dir := t.TempDir()
	wh, err := testenv.NewAuditWebhook(dir, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	for name, args := range map[string][]string{
		"a missing key":       {"--audit-tls-cert-file", wh.CertFile, "--audit-tls-key-file", filepath.Join(dir, "missing.key"), "--audit-client-ca", wh.ClientCAFile},
		"a missing client CA": {"--audit-tls-cert-file", wh.CertFile, "--audit-tls-key-file", wh.KeyFile, "--audit-client-ca", filepath.Join(dir, "missing-ca.crt")},
		"a missing token":     {"--audit-tls-cert-file", wh.CertFile, "--audit-tls-key-file", wh.KeyFile, "--audit-token-file", filepath.Join(dir, "missing-token")},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := kubesnap(t, append([]string{"watch", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--listen", "", "--audit-listen", "127.0.0.1:0"}, args...)...)
			if code == 0 || !strings.Contains(stderr, "missing") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want an error naming the file, one line", code, stderr)
			}
			if _, err := os.Stat(repo); err == nil {
				t.Errorf("the repository was created although the watcher could not start")
			}
		})
	}
}
