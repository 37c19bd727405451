package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The Grafana dashboard and the alert rules deploy/monitoring ships.
const (
	dashboardFile = deployRoot + "/monitoring/dashboard.json"
	rulesFile     = deployRoot + "/monitoring/prometheusrule.yaml"
)

// promQLWords are the PromQL functions, keywords and label names the
// dashboard and the rules may use besides the watcher's metrics: a name
// outside them and not served is a metric the watcher does not serve.
var promQLWords = []string{
	"time", "max", "min", "sum", "rate", "increase", "topk", "label_values",
	"by", "without", "and", "or", "unless", "on", "ignoring",
	"namespace", "job", "pod", "resource", "result", "reason",
}

// servedMetrics returns the names of the metric families /metrics shows.
func servedMetrics(body string) map[string]bool {
	served := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(body, -1) {
		served[m[1]] = true
	}
	return served
}

// exprNames returns the names a PromQL expression uses, less label
// matchers, range selectors and strings.
func exprNames(expr string) []string {
	for _, re := range []string{`\{[^}]*\}`, `\[[^\]]*\]`, `"[^"]*"`} {
		expr = regexp.MustCompile(re).ReplaceAllString(expr, " ")
	}
	return regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_:]*`).FindAllString(expr, -1)
}

// checkNames fails t for every name of exprs that is neither a metric
// the watcher serves nor PromQL, and returns the metrics used.
func checkNames(t *testing.T, where string, exprs []string, served map[string]bool) map[string]bool {
	t.Helper()
	if len(exprs) == 0 {
		t.Errorf("%s: no expressions found", where)
	}
	used, bad := namesUsed(exprs, served)
	for _, b := range bad {
		t.Errorf("%s: %s, which the watcher does not serve", where, b)
	}
	return used
}

// namesUsed returns the served metrics exprs use, and "expr names name"
// for each name that is neither served nor PromQL.
func namesUsed(exprs []string, served map[string]bool) (map[string]bool, []string) {
	used := map[string]bool{}
	var bad []string
	for _, e := range exprs {
		for _, name := range exprNames(e) {
			switch {
			case served[name]:
				used[name] = true
			case slices.Contains(promQLWords, name):
			default:
				bad = append(bad, fmt.Sprintf("%q names %s", e, name))
			}
		}
	}
	return used, bad
}

// dashboardExprs returns every query of a Grafana dashboard: the panels'
// targets and the template variables' (but a data source variable's,
// which names a plugin type, not a metric).
func dashboardExprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if v["type"] == "datasource" && k == "query" {
				continue
			}
			if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				out = append(out, s)
				continue
			}
			out = append(out, dashboardExprs(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, dashboardExprs(x)...)
		}
	}
	return out
}

type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// TestDashboardAndAlertsNameOnlyServedMetrics reads /metrics of a running
// watcher, with the audit receiver on, and checks that the dashboard and
// the alert rules name only metrics it serves, and cover what an operator
// watches: commit and push age, pending changes, push failures, objects
// per type, watch restarts, readiness.
func TestDashboardAndAlertsNameOnlyServedMetrics(t *testing.T) {
	testenv.Require(t, env)
	wh, err := testenv.NewAuditWebhook(t.TempDir(), freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	w := startWatch(t, filepath.Join(t.TempDir(), "repo"), "--listen", addr, "--include-namespaces", env.Namespace(t),
		"--audit-listen", wh.Addr, "--audit-tls-cert-file", wh.CertFile, "--audit-tls-key-file", wh.KeyFile, "--audit-client-ca", wh.ClientCAFile)
	_, body := httpGet(t, addr, "/metrics")
	w.stop(t)
	served := servedMetrics(body)
	for _, name := range []string{"kubesnap_ready", "kubesnap_leader", "kubesnap_watch_restarts_total", "kubesnap_audit_refused_total"} {
		if !served[name] {
			t.Fatalf("the watcher does not serve %s:\n%s", name, body)
		}
	}
	if !strings.Contains(body, "kubesnap_ready 1\n") || !strings.Contains(body, "kubesnap_leader 1\n") {
		t.Errorf("a watching watcher without leader election is not ready and leading:\n%s", grepLines(body, "kubesnap_ready"))
	}

	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dashboard map[string]any
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	used := checkNames(t, dashboardFile, dashboardExprs(dashboard), served)

	// kubectl apply -k deploy/monitoring: the rule, and the dashboard as
	// it is in the file, for Grafana's sidecar.
	built := splitDocs(t, "monitoring", env.Kubectl(t, "", "kustomize", deployRoot+"/monitoring"))
	cm := decodeDoc[corev1.ConfigMap](t, built, "ConfigMap", "kubesnap-dashboard")
	if cm.Labels["grafana_dashboard"] != "1" || cm.Data["kubesnap.json"] != string(raw) {
		t.Errorf("deploy/monitoring's ConfigMap does not hold dashboard.json for the sidecar: labels %v", cm.Labels)
	}
	if len(built) != 2 || decodeDoc[prometheusRule](t, built, "PrometheusRule", "kubesnap").Kind != "PrometheusRule" {
		t.Errorf("deploy/monitoring builds %d objects, want the PrometheusRule and the ConfigMap", len(built))
	}
	for _, want := range []string{
		"kubesnap_last_commit_timestamp_seconds", "kubesnap_last_push_timestamp_seconds",
		"kubesnap_pending_changes", "kubesnap_push_failures_total", "kubesnap_objects",
		"kubesnap_watch_restarts_total", "kubesnap_ready",
	} {
		if !used[want] {
			t.Errorf("%s shows no panel of %s", dashboardFile, want)
		}
	}

	raw, err = os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rule prometheusRule
	if err := yaml.UnmarshalStrict(raw, &rule); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if rule.APIVersion != "monitoring.coreos.com/v1" || rule.Kind != "PrometheusRule" {
		t.Errorf("%s is a %s %s, want a monitoring.coreos.com/v1 PrometheusRule", rulesFile, rule.APIVersion, rule.Kind)
	}
	alerts := map[string]string{}
	var exprs []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = r.Expr
			exprs = append(exprs, r.Expr)
			if r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: alert %s lacks a for, a severity or a summary", rulesFile, r.Alert)
			}
		}
	}
	checkNames(t, rulesFile, exprs, served)
	if e := alerts["KubesnapNoCommitPushedInOneHour"]; !strings.Contains(e, "kubesnap_last_push_timestamp_seconds") || !strings.Contains(e, "3600") {
		t.Errorf("no alert for a commit not pushed in an hour: %q", e)
	}
	if e := alerts["KubesnapWatchNotReady"]; !strings.Contains(e, "kubesnap_ready") {
		t.Errorf("no alert for a watcher not ready: %q", e)
	}
}

// TestDashboardCheckCatchesUnservedMetrics holds the check itself: a
// metric that is not served, misspelt or of another exporter, is caught.
func TestDashboardCheckCatchesUnservedMetrics(t *testing.T) {
	served := map[string]bool{"kubesnap_objects": true}
	for _, expr := range []string{`up{job="kubesnap"}`, `sum(kubesnap_object)`, `rate(kubesnap_commits_total[5m])`} {
		if _, bad := namesUsed([]string{expr}, served); len(bad) == 0 {
			t.Errorf("%q passed the check", expr)
		}
	}
	variable := map[string]any{"templating": map[string]any{"list": []any{
		map[string]any{"type": "datasource", "query": "prometheus"},
		map[string]any{"type": "query", "query": "label_values(up, namespace)"},
	}}}
	if got := dashboardExprs(variable); !slices.Equal(got, []string{"label_values(up, namespace)"}) {
		t.Errorf("the queries of the variables: %q", got)
	}
	if got := exprNames(`topk(15, max by (resource) (kubesnap_objects{namespace=~"$namespace"}))`); !slices.Equal(got, []string{"topk", "max", "by", "resource", "kubesnap_objects"}) {
		t.Errorf("exprNames = %q", got)
	}
}
