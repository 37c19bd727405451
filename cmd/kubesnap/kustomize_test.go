package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/internal/testenv"
)

// writeFiles writes name → content into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFiles reads every file under dir, by its path in dir.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestoreKustomizeIntoANewNamespace(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	to := ns + "-k"
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "namespace", to, "--wait=false") })

	// Written for the revision as git holds it, in namespace ns: the
	// namespace map moves what it builds. The PodDisruptionBudget is a
	// kind the revision does not hold: the target's discovery names its
	// resource.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
- name: nginx
  newTag: "1.28"
labels:
- pairs: {team: blue}
replicas:
- name: web
  count: 2
resources:
- pdb.yaml
patches:
- path: patches/settings.yaml
`,
		"pdb.yaml": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: ` + ns + `}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`,
		"patches/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ` + ns + `}
data: {retries: "5"}
`,
	})
	before := readFiles(t, dir)

	res := restoreJSON(t, 0, "--repo", repo, "--rev", "HEAD", "--include-namespaces", ns,
		"--namespace-map", ns+"="+to, "--kustomize", dir)
	if res.Report == nil || len(res.Report.Failures) > 0 {
		t.Fatalf("restore --kustomize: %+v", res.Report)
	}
	planned := map[string]string{}
	for _, o := range res.Plan.Objects {
		planned[o.Resource+"/"+o.Name] = o.Action
	}
	if planned["poddisruptionbudgets/web"] != "create" || planned["deployments/web"] != "create" || planned["namespaces/"+to] != "create" {
		t.Errorf("plan of restore --kustomize: %v", planned)
	}

	for _, c := range []struct{ what, jsonpath, want string }{
		{"deployment/web", "{.spec.template.spec.containers[0].image}", "nginx:1.28"},
		{"deployment/web", "{.spec.replicas}", "2"},
		{"deployment/web", "{.metadata.labels.team}", "blue"},
		{"service/web", "{.metadata.labels.team}", "blue"},
		{"configmap/settings", "{.metadata.labels.team}", "blue"},
		{"configmap/settings", "{.data.retries}", "5"},
		{"poddisruptionbudget/web", "{.metadata.labels.team}", "blue"},
		{"namespace/" + to, "{.metadata.labels.team}", "blue"},
	} {
		if got := env.Kubectl(t, "", "-n", to, "get", c.what, "-o", "jsonpath="+c.jsonpath); got != c.want {
			t.Errorf("%s in %s: %s = %q, want %q", c.what, to, c.jsonpath, got, c.want)
		}
	}
	// The revision's own namespace is left as it was, and so is DIR.
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "nginx:1.27" {
		t.Errorf("the source namespace's Deployment runs %q, want nginx:1.27", got)
	}
	if diff := cmp.Diff(before, readFiles(t, dir)); diff != "" {
		t.Errorf("restore --kustomize changed DIR (-want +got):\n%s", diff)
	}

	// Restored again, the kustomized objects are what is live.
	res = restoreJSON(t, 0, "--repo", repo, "--rev", "HEAD", "--include-namespaces", ns,
		"--namespace-map", ns+"="+to, "--kustomize", dir, "--dry-run")
	for _, o := range res.Plan.Objects {
		if o.Action != "unchanged" {
			t.Errorf("second restore --kustomize: %s %s is %s (%s), want unchanged", o.Resource, o.Name, o.Action, o.Reason)
		}
	}
}

func TestRestoreKustomizeFailuresApplyNothing(t *testing.T) {
	testenv.Require(t, env)
	ns := restoreFixture(t)
	repo := t.TempDir()
	mustSnapshot(t, repo, "--include-namespaces", ns)
	to := ns + "-k"
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "namespace", to, "--wait=false") })

	dirWith := func(files map[string]string) string {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		return dir
	}
	missing := filepath.Join(t.TempDir(), "nope")
	empty := dirWith(map[string]string{"patch.yaml": "a: b\n"})
	broken := dirWith(map[string]string{"kustomization.yaml": "resources: [nothere.yaml]\n"})
	unknown := dirWith(map[string]string{
		"kustomization.yaml": "resources: [thing.yaml]\n",
		"thing.yaml":         "apiVersion: nowhere.kubesnap.test/v1\nkind: Thing\nmetadata: {name: w, namespace: " + ns + "}\n",
	})
	loose := dirWith(map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\n",
	})
	for _, c := range []struct{ dir, want string }{
		{missing, "--kustomize " + missing + ": no such folder"},
		{empty, "--kustomize " + empty + ": no kustomization.yaml, kustomization.yml, Kustomization in the folder"},
		{broken, "--kustomize " + broken + ": kustomize: accumulating resources: accumulation err='accumulating resources from 'nothere.yaml'"},
		{unknown, "--kustomize " + unknown + ": kustomize built a Thing (nowhere.kubesnap.test/v1), a kind neither the revision nor the target knows"},
		{loose, "--kustomize " + loose + ": kustomize built ConfigMap loose without a namespace"},
	} {
		out, errOut, code := kubesnap(t, "restore", "--kubeconfig", env.Kubeconfig, "--repo", repo, "--rev", "HEAD",
			"--include-namespaces", ns, "--namespace-map", ns+"="+to, "--kustomize", c.dir)
		line := strings.TrimSpace(errOut)
		if i := strings.LastIndex(line, "\n"); i >= 0 {
			line = line[i+1:]
		}
		if code != 1 || !strings.HasPrefix(line, c.want) || out != "" {
			t.Errorf("restore --kustomize %s = %d, stdout %q, last line of stderr %q; want 1 and %q", c.dir, code, out, line, c.want)
		}
	}
	if _, err := env.KubectlErr("", "get", "namespace", to); err == nil {
		t.Errorf("a restore whose kustomization failed made namespace %s", to)
	}
}
