package audit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// The control plane of this package's integration test audits with the
// shipped policy to a receiver started first, through the shipped
// webhook kubeconfig filled in.
var (
	env    *testenv.Env
	cpAud  *Receiver
	cpLogs = &logBuffer{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubesnap-audit-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts, err := auditedControlPlane(ctx, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: audit webhook for the control plane: %v\n", err)
		return 1
	}
	return testenv.Main(m, opts, &env)
}

// auditedControlPlane starts cpAud and returns the control plane's
// options that send it events.
func auditedControlPlane(ctx context.Context, dir string) (testenv.Options, error) {
	p, err := newPKI(dir)
	if err != nil {
		return testenv.Options{}, err
	}
	cpAud, err = Listen(ctx, Options{
		Addr: "127.0.0.1:0", CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.clientCAFile,
		Logger: slog.New(slog.NewTextHandler(cpLogs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return testenv.Options{}, err
	}
	policy, err := os.ReadFile("../../deploy/audit/policy.yaml")
	if err != nil {
		return testenv.Options{}, err
	}
	tmpl, err := os.ReadFile("../../deploy/audit/webhook-kubeconfig.yaml")
	if err != nil {
		return testenv.Options{}, err
	}
	fill := []string{
		"WATCHER_ADDRESS:8443", cpAud.Addr().String(),
		"/etc/kubernetes/kubesnap-audit/ca.crt", p.serverCAFile,
		"/etc/kubernetes/kubesnap-audit/client.crt", p.clientCertFile,
		"/etc/kubernetes/kubesnap-audit/client.key", p.clientKeyFile,
	}
	for i := 0; i < len(fill); i += 2 {
		if !strings.Contains(string(tmpl), fill[i]) {
			return testenv.Options{}, fmt.Errorf("deploy/audit/webhook-kubeconfig.yaml no longer holds %s", fill[i])
		}
	}
	return testenv.Options{
		AuditPolicy:            policy,
		AuditWebhookKubeconfig: []byte(strings.NewReplacer(fill...).Replace(string(tmpl))),
		// Batches wait up to 30s by default.
		ExtraAPIServerArgs: []string{"--audit-webhook-batch-max-wait=200ms"},
		Users:              []string{"alice", "bob"},
	}, nil
}

// waitWho asks cpAud about q each time events arrive, until want says
// the answer is the one expected; it fails t after a minute.
func waitWho(t *testing.T, q snapsync.AuditQuery, want func(snapsync.Actor) bool) snapsync.Actor {
	t.Helper()
	deadline := time.After(time.Minute)
	var last snapsync.Actor
	for {
		a, ok := cpAud.Who(q)
		if ok && want(a) {
			return a
		}
		last = a
		select {
		case <-cpAud.Arrived():
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: no matching audit event after a minute; last answer %+v", q.ID, last)
		}
	}
}

func TestTheAPIServerTellsWhoChangedWhat(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	ctx := t.Context()
	grant(t, ns, "alice", "bob")
	alice, bob := env.UserClient(t, "alice"), env.UserClient(t, "bob")

	// A Deployment, audited at RequestResponse: exact.
	dep, err := alice.AppsV1().Deployments(ns).Create(ctx, deployment("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := canonical.ID{Group: "apps", Resource: "deployments", Namespace: ns, Name: "web"}
	a := waitWho(t, snapsync.AuditQuery{ID: id, Op: snapsync.Added, ResourceVersion: dep.ResourceVersion, Seen: time.Now()},
		func(a snapsync.Actor) bool { return !a.Approximate })
	if a.User != "alice" || a.Impersonator != "" || a.SourceIP != "127.0.0.1" || a.UserAgent == "" {
		t.Errorf("the Deployment's creation: %+v, want alice from 127.0.0.1", a)
	}

	// bob scales it (the scale subresource): exact too.
	scale, err := bob.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 3
	scale, err = bob.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a = waitWho(t, snapsync.AuditQuery{ID: id, Op: snapsync.Modified, ResourceVersion: scale.ResourceVersion, Seen: time.Now()},
		func(a snapsync.Actor) bool { return !a.Approximate })
	if a.User != "bob" {
		t.Errorf("the Deployment's scaling: %+v, want bob", a)
	}

	// The admin, as bob: bob made the change, the admin the request.
	asBob := env.ImpersonatingClient(t, "bob")
	sa, err := asBob.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a = waitWho(t, snapsync.AuditQuery{ID: canonical.ID{Resource: "serviceaccounts", Namespace: ns, Name: "deployer"}, Op: snapsync.Added, ResourceVersion: sa.ResourceVersion, Seen: time.Now()},
		func(a snapsync.Actor) bool { return !a.Approximate })
	if a.User != "bob" || a.Impersonator != "admin" {
		t.Errorf("the ServiceAccount's creation: %+v, want bob impersonated by admin", a)
	}

	// A Secret and a ConfigMap, audited at Metadata (no bodies): by verb
	// and time.
	sec, err := alice.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": secretValue},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a = waitWho(t, snapsync.AuditQuery{ID: canonical.ID{Resource: "secrets", Namespace: ns, Name: "db"}, Op: snapsync.Added, ResourceVersion: sec.ResourceVersion, Seen: time.Now()},
		func(snapsync.Actor) bool { return true })
	if a.User != "alice" || !a.Approximate {
		t.Errorf("the Secret's creation: %+v, want alice, approximate", a)
	}
	if err := bob.CoreV1().Secrets(ns).Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	a = waitWho(t, snapsync.AuditQuery{ID: canonical.ID{Resource: "secrets", Namespace: ns, Name: "db"}, Op: snapsync.Deleted, Seen: time.Now()},
		func(snapsync.Actor) bool { return true })
	if a.User != "bob" || !a.Approximate {
		t.Errorf("the Secret's deletion: %+v, want bob, approximate", a)
	}
	cm, err := bob.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a = waitWho(t, snapsync.AuditQuery{ID: canonical.ID{Resource: "configmaps", Namespace: ns, Name: "settings"}, Op: snapsync.Added, ResourceVersion: cm.ResourceVersion, Seen: time.Now()},
		func(snapsync.Actor) bool { return true })
	if a.User != "bob" || !a.Approximate {
		t.Errorf("the ConfigMap's creation: %+v, want bob, approximate", a)
	}

	if strings.Contains(cpLogs.String(), secretValue) {
		t.Error("the receiver's log holds the Secret's value")
	}
	if strings.Contains(cpLogs.String(), "refused") {
		t.Errorf("the receiver refused the API server's requests:\n%s", cpLogs.String())
	}
}

// grant lets users write what the test writes in ns. (The aggregated
// ClusterRole edit needs the controller-manager to get its rules.)
func grant(t *testing.T, ns string, users ...string) {
	t.Helper()
	c := env.Client(t)
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "writer"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "serviceaccounts"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
		},
	}
	if _, err := c.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "writer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "writer"},
	}
	for _, u := range users {
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: u})
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(t.Context(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		env.WaitAllowed(t, u, ns, "apps", "deployments", "create")
	}
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.28"}}},
			},
		},
	}
}
