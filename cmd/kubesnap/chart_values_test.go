package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The chart's values: helm lint, the schema, and values that try to
// break out of the YAML they are written into.

// lintChart lints the chart as `helm lint --kube-version ... -f values`
// does, and returns its warnings and errors.
func lintChart(t *testing.T, values string) []support.Message {
	t.Helper()
	kv, err := common.ParseKubeVersion(chartKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	var bad []support.Message
	for _, m := range lint.RunAll(dir, chartValues(t, values), deployNamespace, lint.WithKubeVersion(kv)).Messages {
		if m.Severity >= support.WarningSev {
			bad = append(bad, m)
		}
	}
	return bad
}

func TestChartLintsCleanAndRefusesBadValues(t *testing.T) {
	for _, tc := range chartCases(t) {
		if msgs := lintChart(t, tc.values); len(msgs) > 0 {
			t.Errorf("%s: helm lint: %v", tc.name, msgs)
		}
	}

	// Each is refused at install with one message naming the value.
	for _, tc := range []struct{ name, values, want string }{
		{"replicas not a number", "replicaCount: two", "replicaCount"},
		{"no replica", "replicaCount: 0", "replicaCount"},
		{"misnamed key", "replicas: 1", "additional properties 'replicas'"},
		{"remote with a newline", "remote: \"https://git.example.com/a.git\\n- --ssh-key-file=/etc/shadow\"", "remote"},
		{"empty remote", `remote: ""`, "remote"},
		{"credentials without a Secret", "credentials: {type: ssh}", "secretName"},
		{"unknown credentials type", "credentials: {type: gpg, secretName: git}", "type"},
		{"Secret name with a slash", "credentials: {type: ssh, secretName: ../git}", "secretName"},
		{"extra argument of two lines", "extraArgs: [\"--log-format=json\\n- --secrets=plain\"]", "extraArgs"},
		{"config file not a mapping", "configFile: [a]", "configFile"},
		{"claim with two replicas", "persistence: {enabled: true}", "replicaCount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := lintChart(t, tc.values)
			if len(msgs) == 0 {
				t.Fatalf("helm lint accepts %s", tc.values)
			}
			if !strings.Contains(msgs[0].Error(), tc.want) {
				t.Errorf("helm lint: %v, want it to name %q", msgs, tc.want)
			}
			if _, err := renderChart(t, chartRelease, tc.values, false); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("install renders %s: %v, want an error naming %q", tc.values, err, tc.want)
			}
		})
	}

	// With --skip-schema-validation the templates still refuse what would
	// make a broken pod.
	for values, want := range map[string]string{
		"credentials: {type: ssh}":                  "credentials.secretName is empty",
		"credentials: {type: gpg, secretName: git}": `credentials.type "gpg"`,
		"persistence: {enabled: true}":              "persistence.enabled needs replicaCount: 1",
	} {
		if _, err := renderChart(t, chartRelease, values, true); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("render %s without the schema: %v, want %q", values, err, want)
		}
	}
}

// TestChartQuotesHostileValues renders values that would add arguments,
// keys or objects if pasted into the YAML unquoted, with the schema
// skipped (--skip-schema-validation), and checks that each stays one
// string where it belongs.
func TestChartQuotesHostileValues(t *testing.T) {
	hostile := map[string]any{
		"remote":   "https://git.example.com/a.git\n- --ssh-key-file=/etc/shadow\n  injected: true",
		"branch":   `main" injected: "x`,
		"path":     "$(POD_NAME)/../../etc",
		"schedule": "@every 1h # not a comment",
		"author":   "Mallory <m@example.com>\nKUBESNAP_REMOTE: https://evil.example.com",
		"extraArgs": []any{
			"--log-format=json\n- --secrets=plain",
			"{{ .Release.Name }}",
			"'single' \"double\" \\backslash",
		},
		"credentials": map[string]any{"type": "https-token", "secretName": "git", "username": "x\nKUBESNAP_REMOTE: evil"},
		"configFile": map[string]any{
			"apiVersion": "kubesnap.io/v1alpha1", "kind": "Config",
			"note": "x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: injected}",
		},
		"podAnnotations": map[string]any{"example.com/a": "b\nc: d"},
		"nodeSelector":   map[string]any{"example.com/pool": "infra\n  x: y"},
	}
	text, err := yaml.Marshal(hostile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := renderChart(t, chartRelease, string(text), true)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	docs := splitDocs(t, "chart", chartStream(out))
	if diff := cmp.Diff([]string{
		"ClusterRole/kubesnap-reader", "ClusterRoleBinding/kubesnap-reader",
		"ConfigMap/kubesnap-config", "ConfigMap/kubesnap-file", "Deployment/kubesnap",
		"PodDisruptionBudget/kubesnap", "Role/kubesnap-leader-election",
		"RoleBinding/kubesnap-leader-election", "Service/kubesnap-metrics", "ServiceAccount/kubesnap",
	}, kindsOf(docs)); diff != "" {
		t.Errorf("objects (-want +got): a value added or broke one:\n%s", diff)
	}

	cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-config")
	want := map[string]string{
		"KUBESNAP_REMOTE":       hostile["remote"].(string),
		"KUBESNAP_BRANCH":       hostile["branch"].(string),
		"KUBESNAP_PATH":         hostile["path"].(string),
		"KUBESNAP_SCHEDULE":     hostile["schedule"].(string),
		"KUBESNAP_AUTHOR":       hostile["author"].(string),
		"KUBESNAP_GIT_USERNAME": "x\nKUBESNAP_REMOTE: evil",
	}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	// The values reach the arguments only through $(VAR), which the
	// kubelet does not expand again; extraArgs stay one argument each.
	dep := decodeDoc[appsv1.Deployment](t, docs, "Deployment", "kubesnap")
	wantArgs := append(slices.Clone(chartArgs), "--git-token-file=/etc/kubesnap/git/token", "--git-username=$(KUBESNAP_GIT_USERNAME)")
	for _, a := range hostile["extraArgs"].([]any) {
		wantArgs = append(wantArgs, a.(string))
	}
	spec := dep.Spec.Template.Spec
	if diff := cmp.Diff(wantArgs, spec.Containers[0].Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if got := dep.Spec.Template.Annotations["example.com/a"]; got != "b\nc: d" {
		t.Errorf("pod annotation %q, want the value as given", got)
	}
	if diff := cmp.Diff(map[string]string{"example.com/pool": "infra\n  x: y"}, spec.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}

	file := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-file")
	var got map[string]any
	if err := yaml.Unmarshal([]byte(file.Data["kubesnap.yaml"]), &got); err != nil {
		t.Fatalf("configuration file: %v", err)
	}
	if got["note"] != hostile["configFile"].(map[string]any)["note"] {
		t.Errorf("configuration file's note %q, want the value as given", got["note"])
	}
}
