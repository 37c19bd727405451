package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/yaml"
)

// The deploy/ manifests, as the test (working directory cmd/kubesnap)
// sees them.
const (
	deployRoot      = "../../deploy"
	deployNamespace = "kubesnap-system"
	deploySA        = "system:serviceaccount:" + deployNamespace + ":kubesnap"
	// The Lease kubesnap watch --leader-elect takes.
	deployLease = "kubesnap-watch"
)

var deployKustomizations = []string{"base", "overlays/ssh", "overlays/https-token"}

// deployDoc is one object of a kustomize build: its raw YAML, to decode
// into a typed object, and its identity.
type deployDoc struct {
	raw       []byte
	kind      string
	name      string
	namespace string
}

// buildDeploy runs `kubectl kustomize` on deploy/<dir> and splits the
// result into objects.
func buildDeploy(t *testing.T, dir string) []deployDoc {
	t.Helper()
	return splitDocs(t, dir, env.Kubectl(t, "", "kustomize", filepath.Join(deployRoot, dir)))
}

// splitDocs splits a YAML stream made by from (a kustomize build, a
// chart's template) into its objects; documents holding only comments
// are left out.
func splitDocs(t *testing.T, from, out string) []deployDoc {
	t.Helper()
	var docs []deployDoc
	for _, part := range strings.Split("\n"+out, "\n---\n") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(part), &meta); err != nil {
			t.Fatalf("%s: output does not parse: %v\n%s", from, err, part)
		}
		if meta.Kind == "" {
			continue
		}
		docs = append(docs, deployDoc{raw: []byte(part), kind: meta.Kind, name: meta.Metadata.Name, namespace: meta.Metadata.Namespace})
	}
	return docs
}

// decodeDoc decodes the one object of kind named name (a generated name
// matches with its hash suffix) into a T; it fails t unless there is
// exactly one.
func decodeDoc[T any](t *testing.T, docs []deployDoc, kind, name string) *T {
	t.Helper()
	var found []deployDoc
	for _, d := range docs {
		if d.kind == kind && (d.name == name || strings.HasPrefix(d.name, name+"-")) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects %s/%s in the build, want 1", len(found), kind, name)
	}
	obj := new(T)
	if err := yaml.UnmarshalStrict(found[0].raw, obj); err != nil {
		t.Fatalf("%s/%s: %v", kind, name, err)
	}
	return obj
}

func TestDeployManifestsBuildReadOnlyHighlyAvailableWatcher(t *testing.T) {
	testenv.Require(t, env)
	for _, dir := range deployKustomizations {
		t.Run(dir, func(t *testing.T) {
			docs := buildDeploy(t, dir)
			overlay := dir != "base"

			// Exactly these objects, namespaced ones in kubesnap-system.
			for _, d := range docs {
				clusterScoped := d.kind == "Namespace" || d.kind == "ClusterRole" || d.kind == "ClusterRoleBinding"
				if !clusterScoped && d.namespace != deployNamespace {
					t.Errorf("%s/%s is in namespace %q, want %s", d.kind, d.name, d.namespace, deployNamespace)
				}
			}
			want := map[string]bool{
				"Namespace/" + deployNamespace:         true,
				"ServiceAccount/kubesnap":              true,
				"ClusterRole/kubesnap-reader":          true,
				"ClusterRoleBinding/kubesnap-reader":   true,
				"Role/kubesnap-leader-election":        true,
				"RoleBinding/kubesnap-leader-election": true,
				"ConfigMap/kubesnap-config-*":          true,
				"ConfigMap/kubesnap-file-*":            true,
				"Deployment/kubesnap":                  true,
				"Service/kubesnap-metrics":             true,
				"PodDisruptionBudget/kubesnap":         true,
				"Secret/kubesnap-git-*":                overlay,
			}
			have := map[string]bool{}
			for _, d := range docs {
				key := d.kind + "/" + d.name
				if d.kind == "ConfigMap" || d.kind == "Secret" {
					// Generated: name-<hash>.
					key = d.kind + "/" + d.name[:max(0, strings.LastIndex(d.name, "-"))] + "-*"
				}
				if !want[key] {
					t.Errorf("unexpected object %s/%s in the build", d.kind, d.name)
				}
				have[key] = true
			}
			for key, w := range want {
				if w && !have[key] {
					t.Errorf("%s missing from the build", key)
				}
			}

			checkReadOnlyRBAC(t, docs)
			checkWatcherDeployment(t, dir, docs)
		})
	}
}

// checkReadOnlyRBAC: cluster-wide the service account gets get, list and
// watch on everything and nothing more; in its namespace, its own Lease
// and events.
func checkReadOnlyRBAC(t *testing.T, docs []deployDoc) {
	t.Helper()
	readOnly := []string{"get", "list", "watch"}
	role := decodeDoc[rbacv1.ClusterRole](t, docs, "ClusterRole", "kubesnap-reader")
	if role.AggregationRule != nil {
		t.Error("ClusterRole kubesnap-reader aggregates other roles: its verbs would not be what the file says")
	}
	readsAll := false
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if !slices.Contains(readOnly, v) {
				t.Errorf("ClusterRole kubesnap-reader grants %q (rule %+v): only get, list and watch are allowed", v, r)
			}
		}
		if len(r.NonResourceURLs) > 0 && !slices.Equal(r.Verbs, []string{"get"}) {
			t.Errorf("non-resource rule %+v: want verbs [get]", r)
		}
		if slices.Equal(r.APIGroups, []string{"*"}) && slices.Equal(r.Resources, []string{"*"}) && len(r.ResourceNames) == 0 &&
			slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch") && slices.Contains(r.Verbs, "get") {
			readsAll = true
		}
	}
	if !readsAll {
		t.Errorf("ClusterRole kubesnap-reader does not grant get, list and watch on every resource: %+v", role.Rules)
	}

	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: "kubesnap", Namespace: deployNamespace}
	crb := decodeDoc[rbacv1.ClusterRoleBinding](t, docs, "ClusterRoleBinding", "kubesnap-reader")
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "kubesnap-reader"}) || !slices.Equal(crb.Subjects, []rbacv1.Subject{sa}) {
		t.Errorf("ClusterRoleBinding kubesnap-reader binds %+v to %+v, want ClusterRole kubesnap-reader to %+v", crb.RoleRef, crb.Subjects, sa)
	}

	r := decodeDoc[rbacv1.Role](t, docs, "Role", "kubesnap-leader-election")
	canCreateLease, canUpdateLease := false, false
	for _, rule := range r.Rules {
		for _, res := range rule.Resources {
			switch {
			case res == "leases" && slices.Equal(rule.APIGroups, []string{"coordination.k8s.io"}):
				for _, v := range rule.Verbs {
					switch v {
					case "create":
						canCreateLease = true
					case "get", "update":
						if !slices.Equal(rule.ResourceNames, []string{deployLease}) {
							t.Errorf("Role grants %s on leases %v, want only on %s", v, rule.ResourceNames, deployLease)
						}
						canUpdateLease = canUpdateLease || v == "update"
					default:
						t.Errorf("Role grants %q on leases: leader election needs only get, create and update", v)
					}
				}
			case res == "events":
				for _, v := range rule.Verbs {
					if v != "create" && v != "patch" {
						t.Errorf("Role grants %q on events, want only create and patch", v)
					}
				}
			case res == "secrets" && slices.Equal(rule.APIGroups, []string{""}):
				// The digest key's Secret, created once.
				if !slices.Equal(rule.Verbs, []string{"create"}) {
					t.Errorf("Role grants %v on secrets, want only create (the digest key)", rule.Verbs)
				}
			default:
				t.Errorf("Role grants %v on %s (groups %v): only leases, events and the digest key's Secret are expected", rule.Verbs, res, rule.APIGroups)
			}
		}
	}
	if !canCreateLease || !canUpdateLease {
		t.Errorf("Role does not let leader election create and update its Lease: %+v", r.Rules)
	}
	rb := decodeDoc[rbacv1.RoleBinding](t, docs, "RoleBinding", "kubesnap-leader-election")
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != r.Name || !slices.Equal(rb.Subjects, []rbacv1.Subject{sa}) {
		t.Errorf("RoleBinding binds %+v to %+v, want Role %s to %+v", rb.RoleRef, rb.Subjects, r.Name, sa)
	}
}

// withDeployNamespace creates kubesnap-system from the base's Namespace
// object, for real: a server-side dry run of a namespaced object fails
// when its namespace does not exist, and the dry run of the Namespace
// creates nothing. The namespace is deleted when t ends, and the cleanup
// waits until it is gone so that later tests see a quiet cluster.
func withDeployNamespace(t *testing.T, docs []deployDoc) {
	t.Helper()
	c := env.Client(t)
	waitNamespaceGone(t, c) // A previous test's may still be terminating.
	for _, d := range docs {
		if d.kind == "Namespace" {
			env.Kubectl(t, string(d.raw), "create", "--save-config", "-f", "-")
		}
	}
	t.Cleanup(func() {
		err := c.CoreV1().Namespaces().Delete(context.Background(), deployNamespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", deployNamespace, err)
		}
		waitNamespaceGone(t, c)
	})
}

func waitNamespaceGone(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_, err := c.CoreV1().Namespaces().Get(context.Background(), deployNamespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
	}
	t.Fatalf("namespace %s still there after a minute", deployNamespace)
}

func TestDeployServerDryRunAcceptsBaseAndOverlays(t *testing.T) {
	testenv.Require(t, env)
	withDeployNamespace(t, buildDeploy(t, "base"))
	for _, dir := range deployKustomizations {
		t.Run(dir, func(t *testing.T) {
			out := env.Kubectl(t, "", "apply", "-k", filepath.Join(deployRoot, dir), "--dry-run=server")
			for _, want := range []string{"deployment.apps/kubesnap created (server dry run)", "clusterrole.rbac.authorization.k8s.io/kubesnap-reader created (server dry run)"} {
				if !strings.Contains(out, want) {
					t.Errorf("apply -k %s --dry-run=server: no %q in\n%s", dir, want, out)
				}
			}
			// The namespace warns on (and enforces) the restricted Pod
			// Security Standard; the Deployment's pods must meet it.
			if strings.Contains(out, "PodSecurity") {
				t.Errorf("the pod template does not meet the restricted Pod Security Standard:\n%s", out)
			}
		})
	}
	// A dry run leaves nothing behind.
	for _, args := range [][]string{{"get", "clusterrole", "kubesnap-reader"}, {"-n", deployNamespace, "get", "deployment", "kubesnap"}} {
		if out, err := env.KubectlErr("", args...); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("kubectl %v after dry runs: %v %s, want NotFound", args, err, out)
		}
	}
}

// TestDeployRBACGrantsOnlyReadsAndTheLease applies the base's RBAC for
// real and asks the API server what the service account may do, then runs
// client-go leader election on the Lease as that account.
func TestDeployRBACGrantsOnlyReadsAndTheLease(t *testing.T) {
	testenv.Require(t, env)
	docs := buildDeploy(t, "base")
	withDeployNamespace(t, docs)
	var rbac []string
	for _, d := range docs {
		switch d.kind {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, string(d.raw))
		}
	}
	env.Kubectl(t, strings.Join(rbac, "\n---\n"), "apply", "-f", "-")
	t.Cleanup(func() {
		if out, err := env.KubectlErr("", "delete", "--ignore-not-found", "clusterrolebinding/kubesnap-reader", "clusterrole/kubesnap-reader"); err != nil {
			t.Errorf("delete cluster RBAC: %v\n%s", err, out)
		}
	})

	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"list", "secrets", "-A"}, true},
		{[]string{"watch", "customresourcedefinitions.apiextensions.k8s.io"}, true},
		{[]string{"list", "nodes"}, true},
		{[]string{"get", "/version"}, true},
		{[]string{"get", "/apis/apps"}, true},
		{[]string{"get", "leases/kubesnap-restore", "-n", "kube-system"}, true},
		{[]string{"create", "leases", "-n", deployNamespace}, true},
		{[]string{"update", "leases/" + deployLease, "-n", deployNamespace}, true},
		{[]string{"create", "events", "-n", deployNamespace}, true},
		{[]string{"create", "secrets", "-n", deployNamespace}, true}, // the digest key, once
		// Everything else is denied.
		{[]string{"create", "secrets", "-n", "default"}, false},
		{[]string{"update", "secrets/kubesnap-digest-key", "-n", deployNamespace}, false},
		{[]string{"update", "leases/kubesnap-restore", "-n", "kube-system"}, false},
		{[]string{"create", "leases", "-n", "kube-system"}, false},
		{[]string{"update", "leases/another-lease", "-n", deployNamespace}, false},
		{[]string{"delete", "leases/" + deployLease, "-n", deployNamespace}, false},
		{[]string{"create", "configmaps", "-n", deployNamespace}, false},
		{[]string{"delete", "pods", "-A"}, false},
		{[]string{"patch", "deployments.apps", "-A"}, false},
		{[]string{"update", "secrets", "-n", "default"}, false},
		{[]string{"create", "pods", "--subresource=exec", "-n", "default"}, false},
		{[]string{"create", "serviceaccounts", "--subresource=token", "-n", deployNamespace}, false},
		{[]string{"escalate", "clusterroles.rbac.authorization.k8s.io"}, false},
		{[]string{"impersonate", "users"}, false},
		{[]string{"delete", "namespaces"}, false},
		{[]string{"create", "events", "-n", "default"}, false},
	} {
		out, err := env.KubectlErr("", append([]string{"auth", "can-i", "--as", deploySA}, tc.args...)...)
		// The answer is the last line; warnings may come before it.
		lines := strings.Split(strings.TrimSpace(out), "\n")
		answer := lines[len(lines)-1]
		got := answer == "yes" && err == nil
		if got != tc.want || (!got && answer != "no") {
			t.Errorf("can-i %v as %s: %q (%v), want allowed=%v", tc.args, deploySA, out, err, tc.want)
		}
	}

	// Leader election exactly as client-go does it, as the service account.
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: deploySA}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	led := false
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: deployNamespace, Name: deployLease},
			Client:     sa.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: "deploy-test"},
		},
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     time.Second,
		ReleaseOnCancel: true,
		Name:            deployLease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { led = true; cancel() },
			OnStoppedLeading: func() {},
		},
	})
	if !led {
		t.Fatalf("the service account did not acquire Lease %s/%s within 30s", deployNamespace, deployLease)
	}
	lease, err := env.Client(t).CoordinationV1().Leases(deployNamespace).Get(t.Context(), deployLease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Released on cancel, which needs update.
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("Lease still held by %q after the leader stopped: release failed", *h)
	}
}

func TestDeployCommitsNoCredentials(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployRoot, "overlays", "*", "credentials", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no placeholder credentials found: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !isPlaceholder(data) {
			t.Errorf("%s is not an obvious placeholder: a real credential may have been committed", f)
		}
	}
}

// keyMaterial matches what a real private key, host key or token would
// hold: PEM armour, an OpenSSH key line, or a long run of base64.
var keyMaterial = regexp.MustCompile(`PRIVATE KEY|(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+) AAAA|[A-Za-z0-9+/_-]{40,}`)

// isPlaceholder reports whether a committed credential file is an obvious
// fake: it says PLACEHOLDER and holds nothing that looks like key material.
func isPlaceholder(data []byte) bool {
	return strings.Contains(string(data), "PLACEHOLDER") && !keyMaterial.Match(data)
}
