package main

// What restore --prune may delete, and when a restore asks first (issue
// 15, points 1 to 4). Each test names the fault it holds.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// planActions maps "resource/namespace/name" to the planned action of
// every object of a restore -o json.
func planActions(res restored) map[string]string {
	out := map[string]string{}
	for _, o := range res.Plan.Objects {
		out[o.Resource+"/"+o.Namespace+"/"+o.Name] = o.Action
	}
	return out
}

// Point 1: a Secret the revision holds in any form (redacted, encrypted
// without a key) or whose type the snapshot did not store (--secrets
// skip) is never pruned.
func TestPruneNeverDeletesASecretTheRevisionHolds(t *testing.T) {
	testenv.Require(t, env)
	ns := secretFixture(t, "prune-canary")
	_, recipient := ageKey(t)
	scope := []string{"--include-namespaces", ns}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"redacted", nil},
		{"encrypted, restored without the key", []string{"--secrets", "encrypt", "--age-recipient", recipient}},
		{"not stored (--secrets skip)", []string{"--secrets", "skip"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			mustSnapshot(t, repo, append(c.args, scope...)...)
			res := restoreInto(t, env, 0, append([]string{"--repo", repo, "--rev", "HEAD", "--prune", "--yes"}, scope...)...)
			for _, name := range []string{"db", "api"} {
				if a := planActions(res)["secrets/"+ns+"/"+name]; a == "prune" {
					t.Errorf("the plan prunes Secret %s, which the revision holds (%s)", name, c.name)
				}
				env.Kubectl(t, "", "-n", ns, "get", "secret", name)
			}
			if res.Report == nil || res.Report.Done["prune"] != 0 {
				t.Errorf("restore --prune deleted objects: %+v", res.Report)
			}
		})
	}
}

// Point 2: a snapshot of one namespace, restored with --prune and no
// filter of the restore's own, prunes only in that namespace: no
// ClusterRole, no other namespace.
func TestPruneStaysInTheScopeTheSnapshotRecorded(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	other := env.Namespace(t)
	env.Kubectl(t, "", "-n", other, "create", "configmap", "bystander", "--from-literal=a=b")
	env.Kubectl(t, "", "create", "clusterrole", ns+"-reader", "--verb=get", "--resource=pods")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "clusterrole", ns+"-reader") })
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	if cov := git(t, repo, "show", "HEAD:.kubesnap/coverage.txt"); !strings.Contains(cov, "includeNamespaces:\n    - "+ns+"\n") {
		t.Fatalf("the coverage report does not record the snapshot's scope:\n%s", cov)
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "stray", "--from-literal=a=b")

	out, errOut, code := kubesnap(t, "restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD", "--prune", "--dry-run")
	if code != 0 {
		t.Fatalf("restore --prune --dry-run = %d:\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "prune scope: the snapshot's scope (namespaces "+ns) {
		t.Errorf("the plan does not say where --prune deletes:\n%s", out)
	}
	res := restoreInto(t, env, 0, "--repo", repo, "--rev", "HEAD", "--prune", "--yes")
	var pruned []string
	for _, o := range res.Plan.Objects {
		if o.Action == "prune" {
			pruned = append(pruned, o.Path)
		}
	}
	if want := "namespaces/" + ns + "/configmaps/stray.yaml"; len(pruned) != 1 || pruned[0] != want {
		t.Errorf("restore --prune of a one-namespace snapshot pruned %v, want only %s", pruned, want)
	}
	env.Kubectl(t, "", "get", "clusterrole", ns+"-reader")
	env.Kubectl(t, "", "-n", other, "get", "configmap", "bystander")
	env.Kubectl(t, "", "get", "clusterrole", "cluster-admin")
	if _, err := env.KubectlErr("", "-n", ns, "get", "configmap", "stray"); err == nil {
		t.Error("the ConfigMap made after the snapshot, in its scope, was not pruned")
	}
}

// Point 2, older revisions: a revision whose coverage report records no
// scope (or that has none) cannot be pruned from; it says so, and
// deletes nothing.
func TestPruneRefusesARevisionWithoutAScope(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	git(t, repo, "rm", "-q", ".kubesnap/coverage.txt")
	commitFile(t, repo, ".kubesnap/coverage.yaml", "apiVersion: kubesnap.io/v1alpha1\nkind: Coverage\nmetadata: {name: coverage}\ncaptured:\n- {resource: configmaps}\n")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "stray", "--from-literal=a=b")
	out, errOut, code := kubesnap(t, "restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD", "--prune", "--yes", "--include-namespaces", ns)
	if code != 1 || !strings.Contains(errOut, "--prune needs the scope the snapshot was taken with") {
		t.Errorf("restore --prune of a revision without a scope = %d:\n%s\n%s", code, out, errOut)
	}
	env.Kubectl(t, "", "-n", ns, "get", "configmap", "stray")
}

// Point 3: what the control plane bootstraps or reconciles, and CRDs
// without --prune-crds, are never pruned, each with its reason; with
// --prune-crds a CRD's custom resources are listed and counted as pruned.
func TestPruneKeepsWhatTheControlPlaneOwns(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	group := strings.ReplaceAll(ns, "-", "") + ".prune.kubesnap.test"
	crd := "gadgets." + group
	env.Kubectl(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: `+crd+`, labels: {kubesnap-test: `+ns+`}}
spec:
  group: `+group+`
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`, "apply", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "crd", crd, "--ignore-not-found") })
	env.Kubectl(t, "", "wait", "--for", "condition=established", "crd/"+crd)
	env.Kubectl(t, "apiVersion: "+group+"/v1\nkind: Gadget\nmetadata: {name: g1, namespace: "+ns+"}\n", "apply", "-f", "-")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "keepme", "--from-literal=a=b")

	// A snapshot of these types, then a revision that holds only one
	// ConfigMap: everything else live is a candidate for --prune.
	types := "clusterroles.rbac.authorization.k8s.io,flowschemas.flowcontrol.apiserver.k8s.io,serviceaccounts,servicecidrs.networking.k8s.io,customresourcedefinitions.apiextensions.k8s.io,configmaps,services,namespaces"
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-resources", types)
	git(t, repo, "rm", "-rq", "cluster", "namespaces")
	commitFile(t, repo, "namespaces/"+ns+"/configmaps/keepme.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keepme, namespace: "+ns+"}\ndata: {a: b}\n")

	res := restoreInto(t, env, 0, "--repo", repo, "--rev", "HEAD", "--prune", "--dry-run", "--include-resources", types)
	actions := planActions(res)
	reasons := map[string]string{}
	for _, o := range res.Plan.Objects {
		reasons[o.Resource+"/"+o.Namespace+"/"+o.Name] = o.Reason
	}
	for _, key := range []string{
		"clusterroles//cluster-admin",             // autoupdate
		"flowschemas//exempt",                     // apf autoupdate-spec
		"services/default/kubernetes",             // each API server's
		"serviceaccounts/" + ns + "/default",      // every namespace's
		"servicecidrs//kubernetes",                // the API server's own
		"customresourcedefinitions//" + crd,       // no --prune-crds
		"namespaces//kube-system",                 // the control plane's
		"namespaces//default",                     // the control plane's
		"clusterroles//system:aggregate-to-admin", // bootstrapping label
		"flowschemas//system-leader-election",     // suggested, autoupdate-spec
		"serviceaccounts/kube-system/default",     // in kube-system
		"namespaces//kube-public",                 // the control plane's
		"configmaps/" + ns + "/kube-root-ca.crt",  // published by the API server
	} {
		if actions[key] != "keep" || reasons[key] == "" {
			t.Errorf("%s is %q (%s), want keep with a reason", key, actions[key], reasons[key])
		}
	}
	if a := actions["gadgets/"+ns+"/g1"]; a == "prune" {
		t.Error("a custom resource is pruned though its type was not captured")
	}

	// With --prune-crds, the CRD goes and so does every Gadget: listed,
	// done and counted. The selector keeps the other tests' CRDs out of
	// scope.
	env.Kubectl(t, "", "-n", ns, "label", "configmap", "keepme", "kubesnap-test="+ns)
	narrow := []string{"--include-resources", "customresourcedefinitions.apiextensions.k8s.io,configmaps", "--include-namespaces", ns, "-l", "kubesnap-test=" + ns}
	repo2 := t.TempDir()
	mustSnapshot(t, repo2, narrow...)
	git(t, repo2, "rm", "-rq", "cluster")
	git(t, repo2, "-c", "user.name=p", "-c", "user.email=p@example.com", "commit", "-qm", "drop the CRD")
	res = restoreInto(t, env, 0, append([]string{"--repo", repo2, "--rev", "HEAD", "--prune", "--dry-run"}, narrow...)...)
	if a := planActions(res)["customresourcedefinitions//"+crd]; a != "keep" {
		t.Errorf("without --prune-crds the CRD is %q, want keep", a)
	}
	res = restoreInto(t, env, 0, append([]string{"--repo", repo2, "--rev", "HEAD", "--prune", "--prune-crds", "--yes"}, narrow...)...)
	actions = planActions(res)
	if actions["customresourcedefinitions//"+crd] != "prune" || actions["gadgets/"+ns+"/g1"] != "prune" {
		t.Errorf("--prune-crds: the CRD is %q and its Gadget %q, want both prune", actions["customresourcedefinitions//"+crd], actions["gadgets/"+ns+"/g1"])
	}
	if res.Report == nil || res.Report.Done["prune"] < 2 || len(res.Report.Failures) > 0 {
		t.Errorf("--prune-crds report: %+v, want the CRD and its Gadget counted", res.Report)
	}
	if _, err := env.KubectlErr("", "get", "crd", crd); err == nil {
		t.Error("--prune-crds kept the CRD")
	}
}

// Point 4: a restore that updates or deletes asks on a terminal and
// needs --yes without one; one that only creates, and --dry-run, do not
// ask.
func TestRestoreAsksBeforeItUpdatesOrDeletes(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns}
	mustSnapshot(t, repo, scope...)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"retries":"9"}}`)
	retries := func() string {
		return env.Kubectl(t, "", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.retries}")
	}

	// No terminal: refused, one line naming --yes, nothing changed.
	out, errOut, code := kubesnap(t, append([]string{"restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD", "--force"}, scope...)...)
	if code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("restore --force without a terminal or --yes = %d:\n%s\n%s", code, out, errOut)
	}
	if retries() != "9" {
		t.Error("a refused restore changed the ConfigMap")
	}
	// --dry-run never asks.
	if _, errOut, code := kubesnap(t, append([]string{"restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD", "--force", "--dry-run"}, scope...)...); code != 0 {
		t.Errorf("restore --force --dry-run = %d: %s", code, errOut)
	}

	// A terminal: the plan, then the question; "n" changes nothing.
	opts := func(answer string) restoreOptions {
		o := restoreOptions{repo: repo, rev: "HEAD", output: "text", force: true, workers: 8, qps: 100, burst: 100,
			interactive: true, stdin: strings.NewReader(answer), cluster: clusterFlagsFor(t, env.Kubeconfig)}
		o.filter.IncludeNamespaces = []string{ns}
		return o
	}
	var stdout, stderr bytes.Buffer
	err := runRestore(t.Context(), opts("n\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "cancelled") || retries() != "9" {
		t.Errorf("answering n: err %v, retries %s", err, retries())
	}
	if !strings.Contains(stdout.String(), "update  configmaps/"+ns+"/settings") || !strings.Contains(stderr.String(), "Apply 0 creates, 1 updates, 0 deletions to ") {
		t.Errorf("the question does not show the plan and the counts:\n%s\n%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if err := runRestore(t.Context(), opts("y\n"), &stdout, &stderr); err != nil {
		t.Fatalf("answering y: %v\n%s", err, stderr.String())
	}
	if retries() != "3" {
		t.Errorf("answering y left retries at %s", retries())
	}

	// A create-only restore does not ask.
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "settings")
	if out, errOut, code := kubesnap(t, append([]string{"restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD"}, scope...)...); code != 0 {
		t.Errorf("a create-only restore = %d:\n%s\n%s", code, out, errOut)
	}
}

// clusterFlagsFor are the kubeconfig flags as --kubeconfig FILE sets
// them.
func clusterFlagsFor(t *testing.T, kubeconfig string) *genericclioptions.ConfigFlags {
	t.Helper()
	f := genericclioptions.NewConfigFlags(true)
	f.KubeConfig = &kubeconfig
	return f
}

// Point 5: a snapshot of a fresh cluster restores into another fresh
// cluster with nothing that differs: what each API server reconciles to
// its own values (default/kubernetes: its port) is neither captured nor
// restored.
func TestRestoreOfAFreshClusterIntoAnother(t *testing.T) {
	testenv.Require(t, env)
	getB, getC := startClusterB(t), startClusterB(t)
	b, c := getB(), getC()
	for _, e := range []*testenv.Env{b, c} {
		client := e.Client(t)
		for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			pollUntil(t, "the default ServiceAccount of "+ns, func() bool {
				_, err := client.CoreV1().ServiceAccounts(ns).Get(t.Context(), "default", metav1.GetOptions{})
				return err == nil
			})
		}
	}
	repo := t.TempDir()
	snapshotOf(t, b, repo, nil)
	if _, err := runGit(repo, "cat-file", "-e", "HEAD:namespaces/default/services/kubernetes.yaml"); err == nil {
		t.Error("the snapshot holds default/kubernetes, which each API server reconciles")
	}
	res := restoreInto(t, c, 0, "--repo", repo, "--rev", "HEAD")
	for _, o := range res.Plan.Objects {
		if o.Action == "differs" || o.Action == "update" {
			t.Errorf("fresh into fresh: %s %s (%s)", o.Action, o.Path, o.Reason)
		}
	}
	if res.Report == nil || len(res.Report.Failures) > 0 {
		t.Errorf("fresh into fresh: %+v", res.Report)
	}
	// --force into the other cluster leaves its kubernetes Service as
	// its API server made it.
	before := c.Kubectl(t, "", "-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.ports[0].targetPort}")
	restoreInto(t, c, 0, "--repo", repo, "--rev", "HEAD", "--force", "--yes")
	if after := c.Kubectl(t, "", "-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.ports[0].targetPort}"); after != before {
		t.Errorf("restore --force rewrote default/kubernetes's targetPort from %s to %s", before, after)
	}
}

// The coverage report's old name (.kubesnap/coverage.yaml) is a file
// kubectl apply -R takes for an object: the next snapshot moves it.
func TestCoverageReportMovesToItsNewName(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "a", "--from-literal=a=b")
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	git(t, repo, "mv", ".kubesnap/coverage.txt", ".kubesnap/coverage.yaml")
	git(t, repo, "-c", "user.name=p", "-c", "user.email=p@example.com", "commit", "-qm", "as an older kubesnap wrote it")
	mustSnapshot(t, repo, "--include-namespaces", ns)
	files := git(t, repo, "ls-tree", "-r", "--name-only", "HEAD", ".kubesnap")
	if strings.TrimSpace(files) != ".kubesnap/coverage.txt" {
		t.Errorf("after a snapshot, .kubesnap holds:\n%s", files)
	}
}
