package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	out := env.Kubectl(t, "", "kustomize", filepath.Join(deployRoot, dir))
	var docs []deployDoc
	for _, part := range strings.Split(out, "\n---\n") {
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
			t.Fatalf("%s: kustomize output does not parse: %v\n%s", dir, err, part)
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

// varRef is a $(VAR) reference the kubelet expands in args.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func checkWatcherDeployment(t *testing.T, dir string, docs []deployDoc) {
	t.Helper()
	d := decodeDoc[appsv1.Deployment](t, docs, "Deployment", "kubesnap")
	if r := d.Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("replicas = %s, want 2", ptrString(r))
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "kubesnap" {
		t.Errorf("serviceAccountName = %q, want kubesnap", pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("pod or container has no securityContext")
	}
	if nonRoot := sc.RunAsNonRoot; (nonRoot == nil && (psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot)) || (nonRoot != nil && !*nonRoot) {
		t.Error("the container may run as root: want runAsNonRoot: true")
	}
	if uid := sc.RunAsUser; (uid != nil && *uid == 0) || (uid == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
		t.Error("runAsUser is 0")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("container is privileged")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	for _, p := range []*corev1.SeccompProfile{sc.SeccompProfile, psc.SeccompProfile} {
		if p == nil || p.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile = %+v, want RuntimeDefault on pod and container", p)
		}
	}
	if c.Resources.Requests.Cpu().String() != "100m" || c.Resources.Requests.Memory().String() != "128Mi" || c.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("resources = %+v, want requests 100m/128Mi and a 512Mi memory limit", c.Resources)
	}

	// The command line.
	if len(c.Args) == 0 || c.Args[0] != "watch" {
		t.Fatalf("args = %q, want watch first", c.Args)
	}
	if !slices.Contains(c.Args, "--leader-elect") && !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("args %q lack --leader-elect: two replicas would both commit", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, _ := strings.Cut(a, "=")
		flags[name] = value
	}
	if flags["--leader-elect-namespace"] != "$(POD_NAMESPACE)" {
		t.Errorf("--leader-elect-namespace = %q, want $(POD_NAMESPACE)", flags["--leader-elect-namespace"])
	}
	if flags["--listen"] != ":8080" {
		t.Errorf("--listen = %q, want :8080", flags["--listen"])
	}

	// Every $(VAR) must be defined, or the kubelet passes it literally:
	// by env, or by a key of an envFrom ConfigMap that is in the build.
	vars := map[string]string{}
	for _, e := range c.Env {
		vars[e.Name] = e.Value
		if e.Name == "POD_NAMESPACE" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace") {
			t.Errorf("POD_NAMESPACE is not from the downward API metadata.namespace: %+v", e)
		}
	}
	if _, ok := vars["POD_NAMESPACE"]; !ok {
		t.Error("no POD_NAMESPACE in the environment")
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Errorf("envFrom %+v: only ConfigMaps expected", ef)
			continue
		}
		cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-config")
		if cm.Name != ef.ConfigMapRef.Name {
			t.Errorf("envFrom names ConfigMap %s, the build has %s", ef.ConfigMapRef.Name, cm.Name)
		}
		for k, v := range cm.Data {
			if _, dup := vars[k]; !dup {
				vars[k] = v
			}
		}
	}
	for _, a := range c.Args {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if _, ok := vars[m[1]]; !ok {
				t.Errorf("argument %q uses $(%s), which the container's environment does not define", a, m[1])
			}
		}
	}
	remote := varRef.ReplaceAllStringFunc(flags["--remote"], func(s string) string { return vars[varRef.FindStringSubmatch(s)[1]] })
	switch dir {
	case "base":
		if !strings.Contains(remote, ".invalid/") {
			t.Errorf("base remote %q is not the documented placeholder", remote)
		}
	case "overlays/ssh":
		if !strings.HasPrefix(remote, "ssh://") {
			t.Errorf("ssh overlay remote = %q, want ssh://…", remote)
		}
	case "overlays/https-token":
		if !strings.HasPrefix(remote, "https://") || strings.Contains(remote, ".invalid/") {
			t.Errorf("https-token overlay remote = %q, want its own https://…", remote)
		}
		if flags["--git-username"] == "" {
			t.Error("https-token overlay sets no --git-username")
		}
	}

	// Probes and the metrics port.
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports = %+v, want one named http on 8080", c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "http" {
			t.Errorf("probe for %s = %+v, want an HTTP GET of %s on port http", name, p, name)
		}
	}

	// Volumes: the clone on an emptyDir, the credentials read-only from
	// the Secret the overlay generates, every credential flag naming one
	// of its keys.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	repoMounted := false
	for name, m := range mounts {
		if m.MountPath == "/var/lib/kubesnap/repo" {
			repoMounted = volumes[name].EmptyDir != nil
		}
	}
	if !repoMounted || flags["--repo"] != "/var/lib/kubesnap/repo" {
		t.Errorf("the clone is not --repo=/var/lib/kubesnap/repo on an emptyDir (--repo=%q, mounts %+v)", flags["--repo"], c.VolumeMounts)
	}
	// The configuration file: --config names a key of the mounted
	// ConfigMap kubesnap-file, and it is a valid file.
	cfgDir, cfgKey := filepath.Split(flags["--config"])
	cfgMounted := false
	for name, m := range mounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(cfgDir) && volumes[name].ConfigMap != nil {
			cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-file")
			cfgMounted = m.ReadOnly && volumes[name].ConfigMap.Name == cm.Name
			if _, err := parseConfig(cfgKey, []byte(cm.Data[cfgKey])); err != nil {
				t.Errorf("the mounted configuration file is invalid: %v", err)
			}
		}
	}
	if !cfgMounted {
		t.Errorf("--config=%q is not a key of the ConfigMap kubesnap-file mounted read-only (mounts %+v)", flags["--config"], c.VolumeMounts)
	}
	var secretVol *corev1.SecretVolumeSource
	var secretMount corev1.VolumeMount
	for name, v := range volumes {
		if v.Secret != nil && strings.HasPrefix(v.Secret.SecretName, "kubesnap-git") {
			secretVol, secretMount = v.Secret, mounts[name]
		}
	}
	if secretVol == nil || secretMount.MountPath == "" {
		t.Fatalf("no mounted volume from Secret kubesnap-git: %+v", pod.Volumes)
	}
	if !secretMount.ReadOnly {
		t.Error("the git credentials are mounted read-write")
	}
	credFlags := []string{"--ssh-key-file", "--ssh-known-hosts", "--git-token-file"}
	if dir == "base" {
		for _, f := range credFlags {
			if _, ok := flags[f]; ok {
				t.Errorf("base sets %s, but mounts no credentials", f)
			}
		}
		return
	}
	if secretVol.Optional == nil || *secretVol.Optional {
		t.Error("overlay leaves the git credentials Secret optional")
	}
	secret := decodeDoc[corev1.Secret](t, docs, "Secret", "kubesnap-git")
	if secret.Name != secretVol.SecretName {
		t.Errorf("the volume mounts Secret %s, the build generates %s", secretVol.SecretName, secret.Name)
	}
	want := map[string][]string{
		"overlays/ssh":         {"--ssh-key-file", "--ssh-known-hosts"},
		"overlays/https-token": {"--git-token-file"},
	}[dir]
	for _, f := range credFlags {
		path, set := flags[f]
		if set != slices.Contains(want, f) {
			t.Errorf("%s set = %v, want %v", f, set, !set)
			continue
		}
		if !set {
			continue
		}
		key, ok := strings.CutPrefix(path, secretMount.MountPath+"/")
		if _, inSecret := secret.Data[key]; !ok || !inSecret {
			t.Errorf("%s=%s is not a key of Secret %s mounted at %s (keys %v)", f, path, secret.Name, secretMount.MountPath, keys(secret.Data))
		}
	}
	// What is committed must be a placeholder, never a credential.
	for k, v := range secret.Data {
		if !isPlaceholder(v) {
			t.Errorf("Secret %s key %s is not an obvious placeholder: a real credential may be committed", secret.Name, k)
		}
	}
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
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
