package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// restoreFixture fills a fresh namespace with a little of everything and
// returns it.
func restoreFixture(t *testing.T) string {
	t.Helper()
	ns := env.Namespace(t)
	env.Kubectl(t, strings.ReplaceAll(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {retries: "3"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: runner-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: runner, namespace: NAMESPACE}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27, resources: {requests: {cpu: 100m}}}]}
`, "NAMESPACE", ns), "-n", ns, "apply", "-f", "-")
	// The controller-manager makes each namespace's default service
	// account: snapshot after it did, or the revision lacks it.
	env.Kubectl(t, "", "-n", ns, "wait", "--for=create", "serviceaccount/default", "--timeout=60s")
	return ns
}

// restoreJSON runs restore -o json and decodes what it printed.
func restoreJSON(t *testing.T, wantCode int, args ...string) (res struct {
	Plan struct {
		Objects  []struct{ Resource, Name, Action, Reason string }
		Unpruned int
	}
	Report *struct {
		Done     map[string]int
		Failures []struct{ Name, Error string }
	}
	Tag string
}) {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{"restore", "-o", "json", "--kubeconfig", env.Kubeconfig}, args...)...)
	if code != wantCode {
		t.Fatalf("restore %v exited %d, want %d: %s\n%s", args, code, wantCode, errOut, out)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("restore -o json: %v\n%s", err, out)
	}
	return res
}

func TestRestoreBringsADeletedNamespaceBack(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)

	env.Kubectl(t, "", "delete", "namespace", ns, "--wait=true", "--timeout=120s")
	res := restoreJSON(t, 0, append([]string{"--repo", repo, "--rev", "HEAD"}, scope...)...)
	if res.Report == nil || len(res.Report.Failures) > 0 || res.Report.Done["create"] < 7 {
		t.Fatalf("restore after deleting the namespace: %+v", res.Report)
	}
	if !strings.HasPrefix(res.Tag, "restore/") || !strings.Contains(git(t, repo, "tag", "-l", "restore/*"), res.Tag) {
		t.Errorf("the restore is not recorded as a tag: %q", res.Tag)
	}
	for _, obj := range []string{"configmap/settings", "serviceaccount/runner", "role/reader", "rolebinding/runner-reads", "service/web", "deployment/web"} {
		env.Kubectl(t, "", "-n", ns, "get", obj)
	}
	// The cluster is the revision again: diff sees no drift, and a
	// second restore changes nothing.
	if out, errOut, code := kubesnap(t, append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)...); code != 0 {
		t.Errorf("diff after the restore = %d:\n%s%s", code, out, errOut)
	}
	res = restoreJSON(t, 0, append([]string{"--repo", repo, "--rev", "HEAD"}, scope...)...)
	for _, o := range res.Plan.Objects {
		if o.Action != "unchanged" {
			t.Errorf("second restore: %s %s is %s (%s), want unchanged", o.Resource, o.Name, o.Action, o.Reason)
		}
	}
}

func TestRestoreOfADirtyClusterNeedsForceAndPrune(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)

	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"retries":"9","added":"x"}}`)
	env.Kubectl(t, "", "-n", ns, "label", "service", "web", "added-by=someone")
	env.Kubectl(t, "", "-n", ns, "scale", "deployment", "web", "--replicas=2")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "stray", "--from-literal=a=b")

	// Without --force: listed, left alone, exit 1 with the hint.
	out, errOut, code := kubesnap(t, append([]string{"restore", "--repo", repo, "--rev", "HEAD", "--kubeconfig", env.Kubeconfig}, scope...)...)
	if code != 1 || !strings.Contains(out, "differs") || !strings.Contains(out, "configmaps/"+ns+"/settings") || !strings.Contains(errOut, "--force updates them") {
		t.Fatalf("restore of a dirty cluster without --force = %d:\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "1 live objects are not in the revision (--prune deletes them)") {
		t.Errorf("the plan does not mention the object --prune would delete:\n%s", out)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.retries}"); got != "9" {
		t.Errorf("restore without --force changed the ConfigMap to %q", got)
	}

	// --dry-run says what --force --prune would do and does nothing.
	res := restoreJSON(t, 0, append([]string{"--repo", repo, "--rev", "HEAD", "--force", "--prune", "--dry-run"}, scope...)...)
	actions := map[string]string{}
	for _, o := range res.Plan.Objects {
		actions[o.Resource+"/"+o.Name] = o.Action
	}
	if actions["configmaps/settings"] != "update" || actions["deployments/web"] != "update" || actions["configmaps/stray"] != "prune" || actions["services/web"] != "update" || actions["roles/reader"] != "unchanged" {
		t.Errorf("dry-run plan: %v", actions)
	}
	if res.Report != nil {
		t.Errorf("--dry-run applied: %+v", res.Report)
	}
	env.Kubectl(t, "", "-n", ns, "get", "configmap", "stray")

	res = restoreJSON(t, 0, append([]string{"--repo", repo, "--rev", "HEAD", "--force", "--prune", "--yes"}, scope...)...)
	if len(res.Report.Failures) > 0 || res.Report.Done["update"] != 3 || res.Report.Done["prune"] != 1 {
		t.Errorf("restore --force --prune: %+v", res.Report)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data}"); got != `{"retries":"3"}` {
		t.Errorf("restore --force left the ConfigMap's data at %s", got)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "service", "web", "-o", "jsonpath={.metadata.labels}"); strings.Contains(got, "added-by") {
		t.Errorf("restore --force kept a label added after the snapshot: %s", got)
	}
	// The cluster is the revision again, as diff sees it.
	if out, errOut, code := kubesnap(t, append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)...); code != 0 {
		t.Errorf("diff after restore --force --prune = %d:\n%s%s", code, out, errOut)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "0" {
		t.Errorf("restore --force left the Deployment at %s replicas", got)
	}
	if _, err := env.KubectlErr("", "-n", ns, "get", "configmap", "stray"); err == nil {
		t.Error("restore --prune kept the ConfigMap made after the snapshot")
	}
}

func TestRestoreMovesANamespace(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	to := ns + "-copy"
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "namespace", to, "--wait=false") })

	res := restoreJSON(t, 0, "--repo", repo, "--rev", "HEAD", "--include-namespaces", ns, "--namespace-map", ns+"="+to)
	if len(res.Report.Failures) > 0 {
		t.Fatalf("restore --namespace-map: %+v", res.Report.Failures)
	}
	if got := env.Kubectl(t, "", "-n", to, "get", "rolebinding", "runner-reads", "-o", "jsonpath={.subjects[0].namespace}"); got != to {
		t.Errorf("the binding's subject is in namespace %q, want %q", got, to)
	}
	env.Kubectl(t, "", "-n", to, "get", "deployment/web", "configmap/settings")
}

func TestRestoreStopsOnABrokenFile(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "settings")
	bad := "namespaces/" + ns + "/services/web.yaml"
	commitFile(t, repo, bad, "kind: Service\napiVersion: v1\nmetadata: {name: other, namespace: "+ns+"}\n")

	out, errOut, code := kubesnap(t, append([]string{"restore", "--repo", repo, "--rev", "HEAD", "--kubeconfig", env.Kubeconfig}, scope...)...)
	if code != 1 || !strings.Contains(errOut, bad+": holds Service "+ns+"/other") || !strings.Contains(errOut, "nothing was applied") {
		t.Errorf("restore of a revision with a broken file = %d\n%s\n%s", code, out, errOut)
	}
	if _, err := env.KubectlErr("", "-n", ns, "get", "configmap", "settings"); err == nil {
		t.Error("a restore that stopped on a broken file applied objects")
	}
}

func TestRestoreBadInput(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"restore", "--repo", repo}, 2, "--rev REV or --at TIME"},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--at", "2026-01-01"}, 2, "--rev and --at both name the revision to restore: give one of them"},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--prune-crds"}, 2, "--prune-crds only widens --prune"},
		{[]string{"restore", "--repo", repo, "--at", "yesterday"}, 2, `bad --at "yesterday"`},
		{[]string{"restore", "--repo", repo, "--at", "2001-01-01 00:00"}, 1, "has no commit before 2001-01-01T00:00:00Z"},
		{[]string{"restore", "--repo", repo, "--rev", "nope"}, 1, `revision "nope" not found`},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--namespace-map", "a"}, 2, `bad --namespace-map "a"`},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--prune", "--kustomize", repo}, 2, "--prune with --kustomize is refused"},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--workers", "0"}, 2, "must be positive"},
		{[]string{"restore", "--repo", repo, "--rev", "HEAD", "--include-namespaces", "no-such-" + ns}, 1, "holds no objects in scope"},
	} {
		out, errOut, code := kubesnap(t, append(c.args, "--kubeconfig", env.Kubeconfig)...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v = %d %q %q, want %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	// --at picks the snapshot taken before the time.
	res := restoreJSON(t, 0, "--repo", repo, "--at", "2999-01-01 00:00", "--include-namespaces", ns, "--dry-run")
	if len(res.Plan.Objects) == 0 {
		t.Error("--at in the future planned nothing")
	}
}

func TestRestoreSkipsAnAPIVersionTheTargetDoesNotServe(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)
	// As an old cluster stored it: apps/v1beta2 is served no more.
	path := "namespaces/" + ns + "/deployments.apps/old.yaml"
	commitFile(t, repo, path, "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: old, namespace: "+ns+"}\nspec:\n  selector: {matchLabels: {app: old}}\n  template:\n    metadata: {labels: {app: old}}\n    spec: {containers: [{name: c, image: nginx}]}\n")

	res := restoreJSON(t, 0, append([]string{"--repo", repo, "--rev", "HEAD"}, scope...)...)
	for _, o := range res.Plan.Objects {
		if o.Name == "old" && (o.Action != "skip" || !strings.Contains(o.Reason, "does not serve apps/v1beta2")) {
			t.Errorf("an object of an unserved version is %s (%s), want skip", o.Action, o.Reason)
		}
	}
	if len(res.Report.Failures) > 0 {
		t.Errorf("failures: %+v", res.Report.Failures)
	}
}
