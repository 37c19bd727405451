package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRulesExplainGolden explains the live objects of canonical's golden
// rule cases (read by a real API server, managedFields included) with
// each case's rules in a configuration file, as a user would.
func TestRulesExplainGolden(t *testing.T) {
	cases, err := filepath.Glob("../../canonical/testdata/rules/*/live.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, live := range cases {
		dir := filepath.Dir(live)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			rules, err := os.ReadFile(filepath.Join(dir, "rules.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := writeConfig(t, t.TempDir(), string(rules))
			for _, o := range []string{"text", "json"} {
				out, errOut, code := kubesnap(t, "rules", "--config", cfg, "--explain", live, "-o", o)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				golden := filepath.Join("testdata", "explain", name+"."+map[string]string{"text": "txt", "json": "json"}[o])
				if *update {
					writeFile(t, golden, out)
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test -run TestRulesExplainGolden -update writes it)", err)
				}
				if out != string(want) {
					t.Errorf("%s differs from %s:\n%s", o, golden, out)
				}
			}
		})
	}
}

func TestRulesListsBuiltInAndFileRules(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), "normalize:\n  - name: hpa-owns-replicas\n    match: {group: apps, kind: Deployment}\n    ignoreFields: [spec.replicas]\n")
	out, errOut, code := kubesnap(t, "rules", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# built-in rules", "status: every object", "server-metadata", "normalize[0] (hpa-owns-replicas): apps Deployment\n    - spec.replicas\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules output lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = kubesnap(t, "rules", "--config", cfg, "-o", "json")
	if code != 0 || !strings.Contains(out, `"name": "normalize[0] (hpa-owns-replicas)"`) || !strings.Contains(out, `"builtIn": [`) {
		t.Errorf("rules -o json: exit %d:\n%s%s", code, out, errOut)
	}
}

func TestRulesExplainBadInput(t *testing.T) {
	testenv.Require(t, env)
	dir := t.TempDir()
	notObject := filepath.Join(dir, "x.yaml")
	writeFile(t, notObject, "just: a map\n")
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{notObject, []string{"x.yaml", "needs apiVersion, kind and metadata.name"}},
		{filepath.Join(dir, "missing.yaml"), []string{"missing.yaml", "no such file", "TYPE/[NAMESPACE/]NAME"}},
		{"deployments.apps//web", []string{"want TYPE/NAMESPACE/NAME or TYPE/NAME"}},
		{"nosuchkinds/default/x", []string{`serves no type "nosuchkinds"`}},
		{"deployments.apps/web", []string{"namespaced", "deployments.apps/NAMESPACE/web"}},
	} {
		_, errOut, code := kubesnap(t, "rules", "--kubeconfig", env.Kubeconfig, "--explain", tc.arg)
		if code != 2 {
			t.Errorf("--explain %s: exit %d, want 2: %s", tc.arg, code, errOut)
		}
		oneLine(t, errOut, tc.want...)
	}
}

// TestRulesKeepControllersOutOfGit runs the watcher with a configuration
// file's rules against controllers' kind of writes: a scale (HPA), a CA
// injector's caBundle, a mesh operator's server-side apply. None makes a
// commit nor drift; the image change and another manager's change do.
func TestRulesKeepControllersOutOfGit(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	hook := ns + "-hook"
	cfg := writeConfig(t, dir, fmt.Sprintf(`filters:
  includeNamespaces: [%[1]s]
  includeResources: [deployments.apps, configmaps, validatingwebhookconfigurations.admissionregistration.k8s.io]
watch:
  debounce: 200ms
normalize:
  - name: hpa-owns-replicas
    match: {group: apps, kind: Deployment, namespaces: [%[1]s]}
    ignoreFields: [spec.replicas]
  - name: injected-ca
    match: {group: admissionregistration.k8s.io, names: ["%[1]s-*"]}
    ignoreFields: ["webhooks[*].clientConfig.caBundle"]
  - name: mesh
    match: {kind: ConfigMap}
    ignoreManagers: [mesh-operator]
`, ns))
	t.Cleanup(func() {
		env.Kubectl(t, "", "delete", "validatingwebhookconfiguration", hook, "--ignore-not-found")
	})
	env.Kubectl(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "nginx:1.27"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %[2]s}
webhooks:
  - name: check.%[1]s.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    # Selects nothing: it must not touch other tests.
    objectSelector: {matchLabels: {kubesnap-test: never}}
    clientConfig:
      service: {name: nowhere, namespace: %[1]s}
      caBundle: Zmlyc3Q=
    rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}]
`, ns, hook), "apply", "-f", "-")
	env.Kubectl(t, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: %s}\ndata: {a: \"1\"}\n", ns),
		"apply", "--server-side", "--field-manager=platform", "-f", "-")

	w := startWatch(t, repo, "--config", cfg)
	depPath := "namespaces/" + ns + "/deployments.apps/web.yaml"
	hookPath := "cluster/validatingwebhookconfigurations.admissionregistration.k8s.io/" + hook + ".yaml"
	cmPath := "namespaces/" + ns + "/configmaps/app.yaml"
	eventually(t, 30*time.Second, func() bool {
		_, a := headFile(repo, depPath)
		_, b := headFile(repo, hookPath)
		_, c := headFile(repo, cmPath)
		return a && b && c
	}, "the Deployment, the webhook configuration and the ConfigMap in git")
	dep, _ := headFile(repo, depPath)
	hookFile, _ := headFile(repo, hookPath)
	if strings.Contains(dep, "replicas") || strings.Contains(hookFile, "caBundle") {
		t.Fatalf("ignored fields were stored:\n%s\n%s", dep, hookFile)
	}
	head := headCommit(t, repo)

	// The controllers' writes.
	env.Kubectl(t, "", "-n", ns, "scale", "deployment", "web", "--replicas=5")
	env.Kubectl(t, "", "patch", "validatingwebhookconfiguration", hook, "--field-manager=cainjector", "--type=json",
		"-p", `[{"op":"replace","path":"/webhooks/0/clientConfig/caBundle","value":"c2Vjb25k"}]`)
	env.Kubectl(t, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: %s}\ndata: {sidecar: injected}\n", ns),
		"apply", "--server-side", "--field-manager=mesh-operator", "-f", "-")
	client := env.Client(t)
	eventually(t, 30*time.Second, func() bool {
		d, err := client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 5
	}, "the scale")
	time.Sleep(2 * time.Second) // ten debounce periods
	if got := headCommit(t, repo); got != head {
		t.Errorf("ignored writes made commits:\n%s", git(t, repo, "log", "-p", head+".."+got))
	}
	// No drift with the file's rules; drift without them.
	if out, errOut, code := kubesnap(t, "diff", "--config", cfg, "--repo", repo, "--kubeconfig", env.Kubeconfig); code != 0 {
		t.Errorf("diff with the rules: exit %d, want 0 (no drift):\n%s%s", code, out, errOut)
	}
	noRules := writeConfig(t, t.TempDir(), fmt.Sprintf("filters:\n  includeNamespaces: [%s]\n  includeResources: [deployments.apps, configmaps, validatingwebhookconfigurations.admissionregistration.k8s.io]\n", ns))
	out, _, code := kubesnap(t, "diff", "--config", noRules, "--repo", repo, "--kubeconfig", env.Kubeconfig)
	if code != 1 || !strings.Contains(out, "replicas") || !strings.Contains(out, "caBundle") || !strings.Contains(out, "sidecar") {
		t.Errorf("diff without the rules: exit %d, want 1 with replicas, caBundle and sidecar:\n%s", code, out)
	}

	// What the rules do not cover still commits: an image, and another
	// manager's change to the mesh's ConfigMap.
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/web", "c=nginx:1.28")
	env.Kubectl(t, "", "-n", ns, "patch", "configmap", "app", "--field-manager=sre", "-p", `{"data":{"b":"2"}}`)
	eventually(t, 30*time.Second, func() bool {
		d, _ := headFile(repo, depPath)
		c, _ := headFile(repo, cmPath)
		return strings.Contains(d, "nginx:1.28") && strings.Contains(c, `b: "2"`)
	}, "the image and the other manager's change in git")
	dep, _ = headFile(repo, depPath)
	cm, _ := headFile(repo, cmPath)
	if strings.Contains(dep, "replicas") || strings.Contains(cm, "sidecar") || !strings.Contains(cm, `a: "1"`) {
		t.Errorf("after the commits, ignored fields are stored or others' lost:\n%s\n%s", dep, cm)
	}
	if code := w.stop(t); code != 0 {
		t.Errorf("watch exited %d:\n%s", code, w.log)
	}

	// A revision written without the rules holds what they ignore; diff
	// with the rules compares it without those fields too (the mesh's key
	// by the live object's managedFields, which the file has none of).
	old := filepath.Join(t.TempDir(), "repo")
	if _, errOut, code := kubesnap(t, "snapshot", "--config", noRules, "--repo", old, "--kubeconfig", env.Kubeconfig); code != 0 {
		t.Fatalf("snapshot without the rules: exit %d: %s", code, errOut)
	}
	if stored, _ := headFile(old, cmPath); !strings.Contains(stored, "sidecar") {
		t.Fatalf("the revision without the rules should hold the mesh's key:\n%s", stored)
	}
	if out, errOut, code := kubesnap(t, "diff", "--config", cfg, "--repo", old, "--kubeconfig", env.Kubeconfig); code != 0 {
		t.Errorf("diff with the rules against a revision written without them: exit %d, want 0:\n%s%s", code, out, errOut)
	}

	// explain, live: the mesh's field is named with its manager.
	out, errOut, code := kubesnap(t, "rules", "--config", cfg, "--kubeconfig", env.Kubeconfig, "--explain", "configmaps/"+ns+"/app")
	if code != 0 || !strings.Contains(out, "normalize[2] (mesh) removed:\n    data.sidecar  (owned by mesh-operator)\n") {
		t.Errorf("explain of the live ConfigMap: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestRulesRestoreNeverClearsIgnoredFields restores, with --force, a
// revision over a Deployment whose replicas another manager set (a plain
// update, not /scale: a forced restore takes such fields over) and whose
// label someone changed: the label comes back, the replicas stay, and so
// does that manager's ownership, which manager rules read. Three ways a
// rule may ignore the replicas: by path; by path for a label selector
// that the live object no longer matches (the label changed); by manager,
// for a revision written before the rule, which holds the replicas.
func TestRulesRestoreNeverClearsIgnoredFields(t *testing.T) {
	testenv.Require(t, env)
	for _, tc := range []struct {
		name, rule     string
		ruleAtSnapshot bool // the revision was written with the rule
	}{
		{"by path", "match: {group: apps, kind: Deployment}\n    ignoreFields: [spec.replicas]", true},
		{"by path, selector matching the revision only", "match: {group: apps, kind: Deployment, labelSelector: tier=web}\n    ignoreFields: [spec.replicas]", true},
		{"by manager, revision from before the rule", "match: {group: apps, kind: Deployment}\n    ignoreManagers: [autoscaler]", false},
	} {
		t.Run(tc.name, func(t *testing.T) { restoreKeepsIgnored(t, tc.rule, tc.ruleAtSnapshot) })
	}
}

func restoreKeepsIgnored(t *testing.T, rule string, ruleAtSnapshot bool) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	scope := fmt.Sprintf("cluster:\n  kubeconfig: %s\nfilters:\n  includeNamespaces: [%s]\n  includeResources: [deployments.apps]\n", env.Kubeconfig, ns)
	cfg := writeConfig(t, dir, scope+"normalize:\n  - name: replicas\n    "+rule+"\n")
	noRules := writeConfig(t, t.TempDir(), scope)
	env.Kubectl(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %s, labels: {tier: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "nginx:1.27"}]
`, ns), "apply", "--server-side", "--field-manager=platform", "-f", "-")
	at := cfg
	if !ruleAtSnapshot {
		at = noRules
	}
	if _, errOut, code := kubesnap(t, "snapshot", "--config", at, "--repo", repo); code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, errOut)
	}
	if stored, _ := headFile(repo, "namespaces/"+ns+"/deployments.apps/web.yaml"); strings.Contains(stored, "replicas") != !ruleAtSnapshot {
		t.Fatalf("the revision should hold replicas only when written without the rule:\n%s", stored)
	}
	env.Kubectl(t, "", "-n", ns, "patch", "deployment", "web", "--field-manager=autoscaler", "-p", `{"spec":{"replicas":4}}`)
	env.Kubectl(t, "", "-n", ns, "label", "deployment", "web", "tier=changed", "--overwrite")

	out, errOut, code := kubesnap(t, "restore", "--config", cfg, "--repo", repo, "--rev", "HEAD", "--dry-run")
	if code == 0 || !strings.Contains(out, "differs") {
		t.Fatalf("restore --dry-run: exit %d, want the label's drift refused without --force:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kubesnap(t, "restore", "--config", cfg, "--repo", repo, "--rev", "HEAD", "--force", "--yes"); code != 0 {
		t.Fatalf("restore --force: exit %d:\n%s%s", code, out, errOut)
	}
	d, err := env.Client(t).AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Labels["tier"] != "web" {
		t.Errorf("the label was not restored: %v", d.Labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 4 {
		t.Errorf("the restore changed the ignored replicas: %v", d.Spec.Replicas)
	}
	owns := false
	for _, e := range d.ManagedFields {
		owns = owns || e.Manager == "autoscaler" && e.FieldsV1 != nil && strings.Contains(e.FieldsV1.GetRawString(), `"f:replicas"`)
	}
	if !owns {
		t.Errorf("the autoscaler lost its ownership of spec.replicas: %+v", d.ManagedFields)
	}
	// A second restore has nothing to do: the replicas are not drift.
	out, errOut, code = kubesnap(t, "restore", "--config", cfg, "--repo", repo, "--rev", "HEAD", "--dry-run", "-o", "json")
	if code != 0 || strings.Contains(out, `"action": "update"`) || strings.Contains(out, `"action": "differs"`) {
		t.Errorf("second restore: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestRulesExplainHidesSecretValues explains a Secret, live and from a
// file: what is shown as stored is redacted, as git would hold it.
func TestRulesExplainHidesSecretValues(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	const canary = "explain-canary-4f1c"
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "db", "--from-literal=password="+canary)
	live := env.Kubectl(t, "", "-n", ns, "get", "secret", "db", "-o", "yaml")
	file := filepath.Join(t.TempDir(), "db.yaml")
	writeFile(t, file, live)
	encoded := base64.StdEncoding.EncodeToString([]byte(canary))
	for _, arg := range []string{"secrets/" + ns + "/db", file} {
		out, errOut, code := kubesnap(t, "rules", "--kubeconfig", env.Kubeconfig, "--explain", arg, "-o", "json")
		if code != 0 {
			t.Fatalf("--explain %s: exit %d: %s", arg, code, errOut)
		}
		if strings.Contains(out, canary) || strings.Contains(out, encoded) {
			t.Errorf("--explain %s shows the Secret's value:\n%s", arg, out)
		}
		if !strings.Contains(out, "kubesnap.io/redacted") {
			t.Errorf("--explain %s does not show the Secret as stored (redacted):\n%s", arg, out)
		}
	}
}

// TestRulesExplainSaysWhatIsSkipped: a live object of a type snapshots
// leave out is explained as skipped, not as stored; rules finds the
// configuration file beside --repo as the other commands do.
func TestRulesExplainSaysWhatIsSkipped(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	env.Kubectl(t, fmt.Sprintf("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: l, namespace: %s}\nspec: {holderIdentity: me}\n", ns), "apply", "-f", "-")
	out, errOut, code := kubesnap(t, "rules", "--kubeconfig", env.Kubeconfig, "--explain", "leases.coordination.k8s.io/"+ns+"/l")
	if code != 0 || !strings.Contains(out, "skipped by default: its type leases.coordination.k8s.io is skipped") || strings.Contains(out, "stored as") {
		t.Errorf("explain of a Lease: exit %d:\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	writeConfig(t, dir, "normalize:\n  - name: beside\n    ignoreFields: [spec.x]\n")
	out, errOut, code = kubesnap(t, "rules", "--repo", filepath.Join(dir, "repo"))
	if code != 0 || !strings.Contains(out, "normalize[0] (beside)") {
		t.Errorf("rules --repo did not read the file beside the repository: exit %d:\n%s%s", code, out, errOut)
	}
}
