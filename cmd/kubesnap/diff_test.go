package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

// diffReport is what diff -o json prints, as a script reads it.
type diffReport struct {
	Drift    bool
	Compared int
	Objects  []struct {
		Resource, Group, Namespace, Name, Path, Status, Diff, Note string
		SecretKeys                                                 *struct{ Added, Removed, Changed []string }
	}
}

// diffJSON runs diff -o json and decodes its report.
func diffJSON(t *testing.T, wantCode int, args ...string) diffReport {
	t.Helper()
	out, errOut, code := kubesnap(t, append([]string{"diff", "-o", "json", "--kubeconfig", env.Kubeconfig}, args...)...)
	if code != wantCode {
		t.Fatalf("diff %v exited %d, want %d: %s\n%s", args, code, wantCode, errOut, out)
	}
	var rep diffReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("diff -o json: %v\n%s", err, out)
	}
	return rep
}

// statuses maps "resource[.group]/[ns/]name" to its status.
func (r diffReport) statuses() map[string]string {
	out := map[string]string{}
	for _, o := range r.Objects {
		key := o.Resource
		if o.Group != "" {
			key += "." + o.Group
		}
		if o.Namespace != "" {
			key += "/" + o.Namespace
		}
		out[key+"/"+o.Name] = o.Status
	}
	return out
}

// driftCRD is a namespaced custom resource type only the diff tests use.
const driftCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gauges.drift.kubesnap.test}
spec:
  group: drift.kubesnap.test
  scope: Namespaced
  names: {plural: gauges, singular: gauge, kind: Gauge}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

func TestDiffReportsEveryKindOfDrift(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	sel := "drift-test=" + ns
	env.Kubectl(t, driftCRD, "apply", "-f", "-")
	env.Kubectl(t, "", "wait", "--for", "condition=established", "crd/gauges.drift.kubesnap.test")
	env.Kubectl(t, "", "label", "namespace", ns, sel)
	env.Kubectl(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {drift-test: %[1]s}}
data: {retries: "3"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {drift-test: %[1]s}}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
---
apiVersion: drift.kubesnap.test/v1
kind: Gauge
metadata: {name: pressure, labels: {drift-test: %[1]s}}
spec: {max: 10}
---
apiVersion: drift.kubesnap.test/v1
kind: Gauge
metadata: {name: heat, labels: {drift-test: %[1]s}}
spec: {max: 90}
`, ns), "-n", ns, "apply", "-f", "-")
	role := ns + "-reader"
	env.Kubectl(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %s, labels: {drift-test: %s}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
`, role, ns), "apply", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "clusterrole", role, role+"-new", "--ignore-not-found") })

	repo := t.TempDir()
	mustSnapshot(t, repo, "-l", sel)

	// Right after a snapshot: in sync, and nothing printed but the summary.
	out, errOut, code := kubesnap(t, "diff", "--repo", repo, "-l", sel, "--kubeconfig", env.Kubeconfig)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "in sync: 6 objects compared") {
		t.Fatalf("diff right after a snapshot = %d %q %s, want 0 and one summary line", code, out, errOut)
	}

	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"retries":"5"}}`)
	env.Kubectl(t, "", "-n", ns, "delete", "deployment", "web")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "extra", "--from-literal=a=b")
	env.Kubectl(t, "", "-n", ns, "label", "configmap", "extra", sel)
	env.Kubectl(t, "", "patch", "clusterrole", role, "--type=json", "-p", `[{"op":"add","path":"/rules/0/verbs/-","value":"list"}]`)
	env.Kubectl(t, "", "create", "clusterrole", role+"-new", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "label", "clusterrole", role+"-new", sel)
	env.Kubectl(t, "", "-n", ns, "patch", "gauge", "pressure", "--type=merge", "-p", `{"spec":{"max":20}}`)
	env.Kubectl(t, "", "-n", ns, "delete", "gauge", "heat")

	rep := diffJSON(t, 1, "--repo", repo, "-l", sel)
	want := map[string]string{
		"configmaps/" + ns + "/settings":                          "changed",
		"configmaps/" + ns + "/extra":                             "new live",
		"deployments.apps/" + ns + "/web":                         "missing live",
		"clusterroles.rbac.authorization.k8s.io/" + role:          "changed",
		"clusterroles.rbac.authorization.k8s.io/" + role + "-new": "new live",
		"gauges.drift.kubesnap.test/" + ns + "/pressure":          "changed",
		"gauges.drift.kubesnap.test/" + ns + "/heat":              "missing live",
	}
	if got := rep.statuses(); !mapsEqual(got, want) {
		t.Errorf("diff statuses:\n got %v\nwant %v", got, want)
	}
	if !rep.Drift || rep.Compared != 8 {
		t.Errorf("drift=%v compared=%d, want true and 8", rep.Drift, rep.Compared)
	}
	for _, o := range rep.Objects {
		if o.Name == "settings" && !strings.Contains(o.Diff, `-  retries: "3"`) || o.Name == "settings" && !strings.Contains(o.Diff, `+  retries: "5"`) {
			t.Errorf("diff of the changed ConfigMap:\n%s", o.Diff)
		}
	}

	// The text and Markdown forms say the same.
	out, _, code = kubesnap(t, "diff", "--repo", repo, "-l", sel, "--kubeconfig", env.Kubeconfig)
	if code != 1 || !strings.Contains(out, "missing live") || !strings.Contains(out, "drift: 7 of 8 objects differ") || strings.Contains(out, "\x1b[") {
		t.Errorf("diff -o text = %d:\n%s", code, out)
	}
	out, _, code = kubesnap(t, "diff", "--repo", repo, "-l", sel, "-o", "markdown", "--kubeconfig", env.Kubeconfig)
	if code != 1 || !strings.Contains(out, "| Status | Object | Path |") || !strings.Contains(out, "<details>") {
		t.Errorf("diff -o markdown = %d:\n%s", code, out)
	}

	// A narrower filter narrows the diff.
	rep = diffJSON(t, 1, "--repo", repo, "-l", sel, "--include-resources", "configmaps")
	if got := rep.statuses(); len(got) != 2 {
		t.Errorf("diff --include-resources configmaps reported %v", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// commitFile replaces path in repo's worktree and commits it with git.
func commitFile(t *testing.T, repo, path, content string) {
	t.Helper()
	file := filepath.Join(repo, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", path)
	git(t, repo, "-c", "user.name=person", "-c", "user.email=person@example.com", "commit", "-qm", "edit "+path+" by hand")
}

func TestDiffOfHandEditedFilesComparesWhatTheServerWouldStore(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        resources: {requests: {cpu: "1", memory: 64Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {mode: fast}
`, "-n", ns, "apply", "-f", "-")
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns, "--include-resources", "deployments.apps,configmaps")

	// The way a person writes it: other key order, cpu as 1000m, every
	// default left out.
	path := "namespaces/" + ns + "/deployments.apps/api.yaml"
	handWritten := fmt.Sprintf(`kind: Deployment
apiVersion: apps/v1
metadata:
  namespace: %s
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - image: nginx:1.27
        name: api
        resources:
          requests: {memory: 64Mi, cpu: 1000m}
`, ns)
	commitFile(t, repo, path, handWritten)
	if rep := diffJSON(t, 0, "--repo", repo, "--include-namespaces", ns, "--include-resources", "deployments.apps,configmaps"); len(rep.Objects) != 0 {
		t.Errorf("a hand-written but equivalent file shows drift: %+v", rep.Objects)
	}

	// A real difference in a hand-written file is drift, said in the
	// server's terms.
	commitFile(t, repo, path, strings.Replace(handWritten, "cpu: 1000m", "cpu: 1500m", 1))
	rep := diffJSON(t, 1, "--repo", repo, "--include-namespaces", ns, "--include-resources", "deployments.apps,configmaps")
	if len(rep.Objects) != 1 || rep.Objects[0].Status != "changed" || !hasLine(rep.Objects[0].Diff, "-", "cpu: 1500m") || !strings.Contains(rep.Objects[0].Note, "dry-run") {
		t.Errorf("hand-written file with another cpu request: %+v", rep.Objects)
	}
	if strings.Contains(rep.Objects[0].Diff, "1000m") || strings.Contains(rep.Objects[0].Diff, "revisionHistoryLimit") {
		t.Errorf("the diff shows more than the cpu request:\n%s", rep.Objects[0].Diff)
	}
}

// hasLine reports whether diff has a line starting with sign and ending
// with text.
func hasLine(diff, sign, text string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, sign) && strings.HasSuffix(l, text) {
			return true
		}
	}
	return false
}

func TestDiffFallsBackWhenTheDryRunIsRefused(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "guarded", "--from-literal=level=low")
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns, "--include-resources", "configmaps")

	// A webhook nobody answers, failing closed: every dry-run of a
	// ConfigMap in this namespace is refused.
	hook := ns + "-guard"
	env.Kubectl(t, fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %[1]s}
webhooks:
- name: guard.kubesnap.test
  admissionReviewVersions: [v1]
  sideEffects: NoneOnDryRun
  failurePolicy: Fail
  timeoutSeconds: 2
  clientConfig: {url: "https://127.0.0.1:1/validate"}
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[2]s}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
`, hook, ns), "apply", "-f", "-")
	t.Cleanup(func() {
		_, _ = env.KubectlErr("", "delete", "validatingwebhookconfiguration", hook, "--ignore-not-found")
	})

	path := "namespaces/" + ns + "/configmaps/guarded.yaml"
	commitFile(t, repo, path, fmt.Sprintf("kind: ConfigMap\napiVersion: v1\nmetadata: {name: guarded, namespace: %s}\ndata: {level: high}\n", ns))
	rep := diffJSON(t, 1, "--repo", repo, "--include-namespaces", ns, "--include-resources", "configmaps")
	if len(rep.Objects) != 1 || rep.Objects[0].Status != "changed" || !strings.Contains(rep.Objects[0].Note, "dry-run refused") || !strings.Contains(rep.Objects[0].Note, "webhook") {
		t.Fatalf("a refused dry-run: %+v", rep.Objects)
	}
	if d := rep.Objects[0].Diff; !strings.Contains(d, "-  level: high") || !strings.Contains(d, "+  level: low") {
		t.Errorf("fallback diff:\n%s", d)
	}
}

// The repository holds no Secret values (canonical redacts them), so a
// diff can name keys added and removed, and a changed value is not seen;
// no value ever appears in any format.
func TestDiffShowsSecretKeysNeverValues(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "db", "--from-literal=user=admin-7781", "--from-literal=password=hunter2-old", "--from-literal=legacy=gone-value-9")
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns, "--include-resources", "secrets"}
	mustSnapshot(t, repo, scope...)
	env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "--type=json", "-p", fmt.Sprintf(
		`[{"op":"replace","path":"/data/password","value":%q},{"op":"add","path":"/data/token","value":%q},{"op":"remove","path":"/data/legacy"}]`,
		b64("hunter2-new"), b64("tok-4411")))

	values := []string{"admin-7781", "hunter2-old", "hunter2-new", "gone-value-9", "tok-4411"}
	for _, args := range [][]string{{"-o", "text"}, {"-o", "json"}, {"-o", "markdown"}, {"--show-secrets"}} {
		out, errOut, code := kubesnap(t, append(append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...), args...)...)
		if code != 1 {
			t.Fatalf("%v exited %d: %s", args, code, errOut)
		}
		for _, v := range values {
			if strings.Contains(out, v) || strings.Contains(out, b64(v)) {
				t.Errorf("%v shows the Secret value %q:\n%s", args, v, out)
			}
		}
		for _, key := range []string{"token", "legacy"} {
			if !strings.Contains(out, key) {
				t.Errorf("%v does not name the key %s:\n%s", args, key, out)
			}
		}
	}
	rep := diffJSON(t, 1, append([]string{"--repo", repo}, scope...)...)
	if k := rep.Objects[0].SecretKeys; k == nil || !slices.Equal(k.Added, []string{"token"}) || !slices.Equal(k.Removed, []string{"legacy"}) {
		t.Errorf("secretKeys = %+v", k)
	}
}

func TestDiffBetweenTwoRevisions(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "keep", "--from-literal=v=1")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "drop", "--from-literal=v=1")
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns, "--include-resources", "configmaps"}
	mustSnapshot(t, repo, scope...)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "keep", "-p", `{"data":{"v":"2"}}`)
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "drop")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "fresh", "--from-literal=v=1")
	mustSnapshot(t, repo, scope...)

	// No cluster is needed: a kubeconfig that points nowhere is fine.
	out, errOut, code := kubesnap(t, "diff", "--repo", repo, "--rev", "HEAD~1", "--to", "HEAD", "-o", "json", "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if code != 1 {
		t.Fatalf("diff --rev HEAD~1 --to HEAD exited %d: %s", code, errOut)
	}
	var rep diffReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"configmaps/" + ns + "/keep":  "changed",
		"configmaps/" + ns + "/drop":  "removed",
		"configmaps/" + ns + "/fresh": "added",
	}
	if got := rep.statuses(); !mapsEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if out, _, code := kubesnap(t, "diff", "--repo", repo, "--rev", "HEAD", "--to", "HEAD"); code != 0 || !strings.HasPrefix(out, "in sync") {
		t.Errorf("diff of a revision with itself = %d %q", code, out)
	}

	// A cluster kept under --path in a shared repository.
	shared := t.TempDir()
	mustSnapshot(t, shared, append(scope, "--path", "clusters/east")...)
	out, errOut, code = kubesnap(t, append([]string{"diff", "--repo", shared, "--path", "clusters/east", "--kubeconfig", env.Kubeconfig}, scope...)...)
	if code != 0 || !strings.HasPrefix(out, "in sync: 2 objects compared") {
		t.Errorf("diff --path of a fresh snapshot = %d %q %s", code, out, errOut)
	}
}

func TestDiffReviewCases(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, `apiVersion: v1
kind: Service
metadata: {name: edge}
spec:
  type: NodePort
  selector: {app: edge}
  ports: [{port: 80, targetPort: 8080}]
`, "-n", ns, "apply", "-f", "-")
	repo := t.TempDir()
	scope := []string{"--include-namespaces", ns, "--include-resources", "services,secrets"}
	mustSnapshot(t, repo, scope...)
	diffArgs := append([]string{"diff", "--repo", repo, "--kubeconfig", env.Kubeconfig}, scope...)

	// A stray argument is bad usage (2), never drift (1).
	if _, errOut, code := kubesnap(t, append(diffArgs, "HEAD~1")...); code != 2 {
		t.Errorf("diff with a stray argument exited %d: %s", code, errOut)
	}

	// A detached HEAD (a CI checkout of a tag or a pull request) is fine.
	git(t, repo, "checkout", "-q", "--detach")
	if out, errOut, code := kubesnap(t, diffArgs...); code != 0 {
		t.Errorf("diff on a detached HEAD = %d %s %s", code, out, errOut)
	}
	git(t, repo, "checkout", "-q", "main")

	// A Service saved by hand with the port the server allocated is
	// what the server stores: no drift.
	port := env.Kubectl(t, "", "-n", ns, "get", "service", "edge", "-o", "jsonpath={.spec.ports[0].nodePort}")
	commitFile(t, repo, "namespaces/"+ns+"/services/edge.yaml", fmt.Sprintf(`kind: Service
apiVersion: v1
metadata: {namespace: %s, name: edge}
spec:
  type: NodePort
  selector: {app: edge}
  ports: [{port: 80, targetPort: 8080, nodePort: %s}]
`, ns, port))
	if out, errOut, code := kubesnap(t, diffArgs...); code != 0 {
		t.Errorf("a hand-written Service with its allocated nodePort = %d:\n%s%s", code, out, errOut)
	}

	// A Secret file that does not parse is named; its values are not
	// shown.
	commitFile(t, repo, "namespaces/"+ns+"/secrets/broken.yaml", "kind: [Secret]\napiVersion: v1\nmetadata: {name: broken, namespace: "+ns+"}\nstringData: {password: hunter2-leak}\n")
	out, errOut, code := kubesnap(t, diffArgs...)
	if code != 2 || !strings.Contains(errOut, "secrets/broken.yaml") || strings.Contains(out+errOut, "hunter2-leak") {
		t.Errorf("a broken Secret file = %d %q %q", code, out, errOut)
	}
}
