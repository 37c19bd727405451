package main

// Round trips across two real control planes: cluster A is the package's
// shared control plane (env); cluster B is a fresh one each test starts
// for itself, with its own kube-controller-manager, and stops when it
// ends. A restore into B is followed by a snapshot of B, and the two
// repositories are compared file by file.

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
)

// exampleNamespaces are the namespaces examples/workloads fills.
var exampleNamespaces = []string{"shop", "billing"}

// roundTripClusterTypes are the cluster-scoped types a round trip keeps
// in scope: the ones the examples (and this file's extras) hold objects
// of. Every other cluster-scoped type is left out of scope, because what
// it holds belongs to one control plane and not to the workloads:
//   - ipaddresses.networking.k8s.io are the ClusterIPs the API server
//     allocated to A's Services: B allocates its own, and its IP repair
//     loop deletes, seconds later, the copies of A's that a restore
//     creates. kubesnap captures them by default today; they belong
//     with Endpoints among the types skipped by default;
//   - servicecidrs, flowschemas and prioritylevelconfigurations are the
//     API server's own configuration, made from its flags;
//   - webhooks, APIServices, storage classes and the rest: none in the
//     examples, and what other tests of this package leave behind in A
//     (an APIService pointing nowhere, a webhook failing closed) would
//     only break B.
//
// All objects of the kept types are in scope, the bootstrap ones included
// (a restore into a fresh cluster must find B's own bootstrap RBAC and
// PriorityClasses unchanged, and a snapshot of B must store them as A's),
// and so are the CRDs and ClusterRoles earlier tests of the package left
// in A (the Prometheus operator's CRDs): they must round-trip as well.
var roundTripClusterTypes = []string{
	"namespaces",
	"customresourcedefinitions.apiextensions.k8s.io",
	"clusterroles.rbac.authorization.k8s.io",
	"clusterrolebindings.rbac.authorization.k8s.io",
	"priorityclasses.scheduling.k8s.io",
	"gizmos.roundtrip.kubesnap.test",
}

// startClusterB starts a second control plane in the background, while
// the test fills A (starting one takes seconds), and stops it when t
// ends. The function it returns waits until B is ready; from then on, B
// stops as soon as t's cleanup begins, beside the cleanups that delete
// what the test made in A.
func startClusterB(t *testing.T) func() *testenv.Env {
	t.Helper()
	type started struct {
		env *testenv.Env
		err error
	}
	ch := make(chan started, 1)
	go func() {
		// Not t.Context(): the cleanup below still needs B's start to end.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		b, err := testenv.Start(ctx, testenv.Options{ControllerManager: true})
		ch <- started{b, err}
	}()
	get := sync.OnceValue(func() started { return <-ch })
	stopped := make(chan struct{})
	stop := sync.OnceFunc(func() {
		go func() {
			defer close(stopped)
			if b := get().env; b != nil {
				b.Stop()
			}
		}()
	})
	t.Cleanup(func() { stop(); <-stopped })
	return func() *testenv.Env {
		t.Helper()
		r := get()
		if r.err != nil {
			t.Fatalf("start cluster B: %v", r.err)
		}
		t.Cleanup(stop) // runs before the cleanups registered earlier
		return r.env
	}
}

// applyExamples applies examples/workloads to A (namespaces and the CRD
// first, as TestSnapshotStoresEveryExampleObjectOnce does), with crds
// beside the examples' CRD and objects beside the rest (YAML, may be
// empty), and waits for what the controller-manager adds that a snapshot
// captures: the default ServiceAccount of the example namespaces and of
// those in waitFor.
// Applying again resets what another test changed (it patches a
// ConfigMap and deletes a Widget).
func applyExamples(t *testing.T, crds, objects string, waitFor ...string) {
	t.Helper()
	const dir = "../../examples/workloads/"
	first := []string{"apply", "-f", dir + "00-namespaces.yaml", "-f", dir + "01-crd.yaml"}
	wait := []string{"wait", "--for", "condition=established", "--timeout=60s", "crd/widgets.example.com"}
	if crds != "" {
		first = append(first, "-f", "-")
		for _, o := range readYAML(t, crds) {
			wait = append(wait, "crd/"+o.GetName())
		}
	}
	env.Kubectl(t, crds, first...)
	env.Kubectl(t, "", wait...)
	rest := []string{"apply", "-f", dir}
	if objects != "" {
		rest = append(rest, "-f", "-")
	}
	env.Kubectl(t, objects, rest...)
	c := env.Client(t)
	for _, ns := range append(slices.Clone(exampleNamespaces), waitFor...) {
		pollUntil(t, "the default ServiceAccount of "+ns, func() bool {
			_, err := c.CoreV1().ServiceAccounts(ns).Get(t.Context(), "default", metav1.GetOptions{})
			return err == nil
		})
	}
}

// pollUntil polls cond for up to a minute, and fails t if it never holds.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readYAML splits a multi-document YAML string into objects.
func readYAML(t *testing.T, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(docs, "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj, err := canonical.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%v:\n%s", err, doc)
		}
		out = append(out, obj)
	}
	return out
}

// scopeOf is the filter flags a round trip shares between snapshots and
// restores: every namespace of c but keep is excluded by name, and every
// cluster-scoped type c serves but roundTripClusterTypes.
//
// Why exclusions rather than --include-namespaces: with
// --include-namespaces, cluster-scoped objects are out of scope unless
// their type is named in --include-resources, which then limits the
// namespaced types too; the round trip would cover only the types the test
// names. Excluding by name keeps every namespaced type of the kept
// namespaces in scope, those the controllers add (default ServiceAccounts)
// included.
//
// The namespaces left out: kube-system, kube-public, kube-node-lease and
// default hold what each control plane makes for itself (the kubernetes
// Service's targetPort is each API server's own port, a kube-system
// ConfigMap holds the day the server started), and the rest of A's are
// other tests'.
func scopeOf(t *testing.T, c *testenv.Env, keep ...string) []string {
	t.Helper()
	client := c.Client(t)
	nss, err := client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list namespaces: %v", err)
	}
	var exNS []string
	for _, ns := range nss.Items {
		if !slices.Contains(keep, ns.Name) {
			exNS = append(exNS, ns.Name)
		}
	}
	exRes := clusterTypesBut(t, client, roundTripClusterTypes)
	sort.Strings(exNS)
	return []string{"--exclude-namespaces", strings.Join(exNS, ","), "--exclude-resources", strings.Join(exRes, ",")}
}

// clusterTypesBut lists the cluster-scoped types c serves, in kubectl's
// form, but those in keep.
func clusterTypesBut(t *testing.T, client kubernetes.Interface, keep []string) []string {
	t.Helper()
	lists, err := client.Discovery().ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		t.Fatalf("discovery: %v", err)
	}
	var out []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		for _, r := range l.APIResources {
			if r.Namespaced || strings.Contains(r.Name, "/") {
				continue
			}
			dir := r.Name
			if gv.Group != "" {
				dir += "." + gv.Group
			}
			if !slices.Contains(keep, dir) && !slices.Contains(out, dir) {
				out = append(out, dir)
			}
		}
	}
	sort.Strings(out)
	return out
}

// snapshotOf snapshots cluster c into repo.
func snapshotOf(t *testing.T, c *testenv.Env, repo string, scope []string) {
	t.Helper()
	_, errOut, code := kubesnap(t, append([]string{"snapshot", "--repo", repo, "--kubeconfig", c.Kubeconfig}, scope...)...)
	if code != 0 {
		t.Fatalf("snapshot of %s exited %d: %s", c.Kubeconfig, code, errOut)
	}
}

// restored is what restore -o json prints, with every field of a plan's
// item (restoreJSON's result leaves out namespaces and paths).
type restored struct {
	Plan struct {
		Objects []struct {
			Group, Resource, Namespace, Name, Path, Action, Reason string
		}
		Unpruned int
	}
	Report *struct {
		Done     map[string]int
		Failures []struct{ Path, Error string }
	}
	Tag string
}

// restoreInto runs restore -o json against cluster c and checks its exit
// code.
func restoreInto(t *testing.T, c *testenv.Env, wantCode int, args ...string) restored {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{"restore", "-o", "json", "--kubeconfig", c.Kubeconfig}, args...)...)
	if code != wantCode {
		t.Fatalf("restore %v exited %d, want %d: %s\n%s", args, code, wantCode, errOut, out)
	}
	var res restored
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("restore -o json: %v\n%s", err, out)
	}
	return res
}

// coverageFile is left out of every comparison: it counts objects per
// type and says which types were skipped, so it differs wherever an
// exception below makes a file differ.
const coverageFile = canonical.CoveragePath

// blobs returns the blob id of every file at HEAD of repo, the coverage
// report aside.
func blobs(t *testing.T, repo string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(git(t, repo, "ls-tree", "-r", "--full-tree", "HEAD")), "\n") {
		// "<mode> blob <id>\t<path>"
		meta, path, ok := strings.Cut(line, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 {
			t.Fatalf("git ls-tree: %q", line)
		}
		if path != coverageFile {
			out[path] = fields[2]
		}
	}
	return out
}

// redactedSecret reports whether the file at path in repo is a Secret
// whose values kubesnap redacted: a restore skips it, so the target never
// gets it (documented exception of every comparison below).
func redactedSecret(t *testing.T, repo, path string) bool {
	t.Helper()
	id, err := canonical.ParsePath(path)
	if err != nil || id.Group != "" || id.Resource != "secrets" {
		return false
	}
	obj, err := canonical.Parse([]byte(git(t, repo, "show", "HEAD:"+path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj.GetAnnotations()[canonical.RedactedAnnotation] == "true"
}

// checkRestored checks a restore's report: nothing failed, nothing
// differs, every Secret the plan skips is a redacted one, and the restore
// is recorded as a tag in repo.
func checkRestored(t *testing.T, res restored, repo string) {
	t.Helper()
	if res.Report == nil {
		t.Fatal("restore applied nothing: no report")
	}
	for _, f := range res.Report.Failures {
		t.Errorf("restore failed on %s: %s", f.Path, f.Error)
	}
	for _, o := range res.Plan.Objects {
		switch {
		case o.Action == "skip" && o.Resource == "secrets" && strings.Contains(o.Reason, "redacted"):
		case o.Action == "create", o.Action == "unchanged":
		default:
			t.Errorf("restore into a fresh cluster: %s is %s (%s), want create or unchanged", o.Path, o.Action, o.Reason)
		}
	}
	if !strings.HasPrefix(res.Tag, "restore/") || !strings.Contains(git(t, repo, "tag", "-l", "restore/*"), res.Tag) {
		t.Errorf("the restore is not recorded as a tag: %q", res.Tag)
	}
}

// checkAllUnchanged checks that a restore into a cluster that holds the
// revision plans every object unchanged (redacted Secrets stay skipped)
// and finds nothing in scope that the revision lacks.
func checkAllUnchanged(t *testing.T, res restored) {
	t.Helper()
	for _, o := range res.Plan.Objects {
		if o.Action == "skip" && o.Resource == "secrets" && strings.Contains(o.Reason, "redacted") {
			continue // documented exception: git holds no values to restore
		}
		if o.Action != "unchanged" {
			t.Errorf("second restore: %s is %s (%s), want unchanged", o.Path, o.Action, o.Reason)
		}
	}
	if res.Plan.Unpruned != 0 {
		t.Errorf("second restore: %d live objects in scope are not in the revision, want 0", res.Plan.Unpruned)
	}
	if res.Report != nil && (len(res.Report.Failures) > 0 || res.Report.Done["create"]+res.Report.Done["update"]+res.Report.Done["prune"] > 0) {
		t.Errorf("second restore changed the cluster: %+v", *res.Report)
	}
}

// Snapshot A (the examples and the extras: CRDs with custom resources,
// namespaced and cluster-scoped, RBAC, Services, three namespaces),
// restore HEAD into a fresh cluster B, snapshot B: the two trees are
// identical file for file. The documented exceptions:
//   - .kubesnap/coverage.txt is not compared: it counts objects per type,
//     so any exception below changes it;
//   - Secrets are redacted in git (kubesnap.io/redacted), so a restore
//     skips them and B never has them: each is in A's tree only.
//
// Nothing else may differ: objects the control planes make for
// themselves (the namespaces' default ServiceAccounts, bootstrap RBAC and
// PriorityClasses) must be stored alike, and server-assigned fields
// (ClusterIPs, the edge Service's nodePort) must not be stored at all.
func TestRestoreRoundTripIntoASecondControlPlane(t *testing.T) {
	testenv.Require(t, env)
	clusterB := startClusterB(t)
	extras := roundTripFixture(t)
	scope := scopeOf(t, env, append(slices.Clone(exampleNamespaces), extras)...)

	repoA := t.TempDir()
	mustSnapshot(t, repoA, scope...)
	// The scope holds what the comparison is about.
	objs := stored(t, repoA)
	want := readObjects(t, glob(t, "../../examples/workloads/*.yaml")...)
	for _, o := range want {
		if _, ok := objs[objKey(o)]; !ok {
			t.Errorf("%s is not in A's snapshot: the scope misses it", objKey(o))
		}
	}
	for _, key := range []string{
		"/ServiceAccount/shop/default", "/ServiceAccount/" + extras + "/default", "/Namespace//" + extras,
		"/Service/" + extras + "/edge", "/Service/" + extras + "/db", "batch/CronJob/" + extras + "/nightly",
		"rbac.authorization.k8s.io/RoleBinding/" + extras + "/reporter-views-shop",
		"/LimitRange/" + extras + "/defaults", "/ResourceQuota/" + extras + "/quota",
		"roundtrip.kubesnap.test/Gizmo//main-gizmo", "apiextensions.k8s.io/CustomResourceDefinition//gizmos.roundtrip.kubesnap.test",
		"rbac.authorization.k8s.io/ClusterRole//roundtrip-gizmo-viewer", "rbac.authorization.k8s.io/ClusterRole//roundtrip-gizmo-reader",
		"rbac.authorization.k8s.io/ClusterRole//admin", // bootstrap, aggregated
	} {
		if _, ok := objs[key]; !ok {
			t.Errorf("%s is not in A's snapshot: the scope misses it", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	b := clusterB()
	if _, err := b.KubectlErr("", "get", "namespace", "shop"); err == nil {
		t.Fatal("cluster B is not fresh: it holds namespace shop")
	}
	res := restoreInto(t, b, 0, append([]string{"--repo", repoA, "--rev", "HEAD"}, scope...)...)
	checkRestored(t, res, repoA)
	if res.Report.Done["create"] < len(want) {
		t.Errorf("restore into B created %d objects, want at least the %d of the examples", res.Report.Done["create"], len(want))
	}

	repoB := t.TempDir()
	snapshotOf(t, b, repoB, scope)
	a, bb := blobs(t, repoA), blobs(t, repoB)
	var exceptions []string
	for path, id := range a {
		other, ok := bb[path]
		switch {
		case !ok && redactedSecret(t, repoA, path):
			exceptions = append(exceptions, path)
		case !ok:
			t.Errorf("%s is in A's tree, not in B's:\n%s", path, git(t, repoA, "show", "HEAD:"+path))
		case other != id:
			t.Errorf("%s differs:\n--- A\n%s--- B\n%s", path, git(t, repoA, "show", "HEAD:"+path), git(t, repoB, "show", "HEAD:"+path))
		}
	}
	for path := range bb {
		if _, ok := a[path]; !ok {
			t.Errorf("%s is in B's tree, not in A's:\n%s", path, git(t, repoB, "show", "HEAD:"+path))
		}
	}
	sort.Strings(exceptions)
	if want := []string{"namespaces/shop/secrets/web-credentials.yaml"}; !slices.Equal(exceptions, want) {
		t.Errorf("files only in A as documented exceptions: %v, want %v", exceptions, want)
	}
	t.Logf("%d files compared, %d identical; only in A (redacted Secrets): %v", len(a), len(a)-len(exceptions), exceptions)

	// B holds the revision now: restoring it again changes nothing.
	checkAllUnchanged(t, restoreInto(t, b, 0, append([]string{"--repo", repoA, "--rev", "HEAD"}, scope...)...))
}
