package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The Helm chart in deploy/chart, tried as `helm template`, `helm lint`
// and `helm install --dry-run=server` would, with helm's own packages.
const (
	chartDir = deployRoot + "/chart"
	// The release name of `helm install kubesnap deploy/chart`: its objects
	// are named as deploy/base's.
	chartRelease = "kubesnap"
	// The control plane's version: lint and render assume it
	// (helm's --kube-version).
	chartKubeVersion = "v1.37.2"
)

// chartArgs are the arguments every watcher gets, credentials and
// extraArgs coming after them.
var chartArgs = []string{
	"watch",
	"--repo=/var/lib/kubesnap/repo",
	"--remote=$(KUBESNAP_REMOTE)",
	"--branch=$(KUBESNAP_BRANCH)",
	"--path=$(KUBESNAP_PATH)",
	"--schedule=$(KUBESNAP_SCHEDULE)",
	"--author=$(KUBESNAP_AUTHOR)",
	"--config=/etc/kubesnap/config/kubesnap.yaml",
	"--leader-elect",
	"--leader-elect-namespace=$(POD_NAMESPACE)",
	"--digest-key-secret=$(POD_NAMESPACE)/kubesnap-digest-key",
	"--listen=:8080",
}

// chartFullSSH turns every option on, with SSH credentials, a created
// PersistentVolumeClaim and a ServiceMonitor.
const chartFullSSH = `
replicaCount: 1
image: {repository: registry.example.com/kubesnap, tag: v9.9.9, pullPolicy: Always}
imagePullSecrets: [{name: registry}]
remote: ssh://git@git.example.com/example/cluster-state.git
branch: clusters
path: prod-eu-1
schedule: "0 */6 * * *"
author: kubesnap prod-eu-1 <kubesnap@example.com>
extraArgs: [--keep-snapshots=48, --log-format=json]
credentials: {type: ssh, secretName: git-deploy-key, sshPrivateKeyKey: identity, knownHostsKey: hosts}
persistence: {enabled: true, storageClass: fast, size: 5Gi, accessModes: [ReadWriteOncePod]}
configFile: {watch: {debounce: 5s}}
serviceAccount: {annotations: {example.com/role: kubesnap}}
metrics:
  serviceMonitor: {enabled: true, interval: 30s, scrapeTimeout: 10s, labels: {release: prometheus}}
podAnnotations: {example.com/team: platform}
podLabels: {team: platform}
resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {memory: 1Gi}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: infra, effect: NoSchedule}]
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}]}]
`

// chartFullHTTPS: a token over HTTPS, on a claim the user made.
const chartFullHTTPS = `
replicaCount: 1
remote: https://git.example.com/example/cluster-state.git
credentials: {type: https-token, secretName: git-token, tokenKey: pat, username: oauth2}
persistence: {enabled: true, existingClaim: kubesnap-state}
`

// chartCase is a value set and what the chart must make of it.
type chartCase struct {
	name, values string
	replicas     int32
	image        string
	config       map[string]string // the settings ConfigMap's data
	extraArgs    []string          // after chartArgs
	claim        string            // the repository's claim; "" for an emptyDir
	createsClaim bool
	secret       string // the credentials Secret; "" for none
	items        []corev1.KeyToPath
	monitor      bool
}

func chartCases(t *testing.T) []chartCase {
	appVersion := loadChart(t).Metadata.AppVersion
	placeholder := map[string]string{
		"KUBESNAP_REMOTE":   "https://git.example.invalid/replace-me/cluster-state.git",
		"KUBESNAP_BRANCH":   "main",
		"KUBESNAP_PATH":     "",
		"KUBESNAP_SCHEDULE": "0 * * * *",
		"KUBESNAP_AUTHOR":   "kubesnap <kubesnap@example.com>",
	}
	return []chartCase{
		{name: "defaults", replicas: 2, image: "ghcr.io/kubesnap/kubesnap:" + appVersion, config: placeholder},
		{
			name: "ssh-claim-servicemonitor", values: chartFullSSH, replicas: 1, image: "registry.example.com/kubesnap:v9.9.9",
			config: map[string]string{
				"KUBESNAP_REMOTE":   "ssh://git@git.example.com/example/cluster-state.git",
				"KUBESNAP_BRANCH":   "clusters",
				"KUBESNAP_PATH":     "prod-eu-1",
				"KUBESNAP_SCHEDULE": "0 */6 * * *",
				"KUBESNAP_AUTHOR":   "kubesnap prod-eu-1 <kubesnap@example.com>",
			},
			extraArgs: []string{"--ssh-key-file=/etc/kubesnap/git/ssh-privatekey", "--ssh-known-hosts=/etc/kubesnap/git/known_hosts", "--keep-snapshots=48", "--log-format=json"},
			claim:     "kubesnap-repo", createsClaim: true,
			secret:  "git-deploy-key",
			items:   []corev1.KeyToPath{{Key: "identity", Path: "ssh-privatekey"}, {Key: "hosts", Path: "known_hosts"}},
			monitor: true,
		},
		{
			name: "https-token-existing-claim", values: chartFullHTTPS, replicas: 1, image: "ghcr.io/kubesnap/kubesnap:" + appVersion,
			config: merged(placeholder, map[string]string{
				"KUBESNAP_REMOTE":       "https://git.example.com/example/cluster-state.git",
				"KUBESNAP_GIT_USERNAME": "oauth2",
			}),
			extraArgs: []string{"--git-token-file=/etc/kubesnap/git/token", "--git-username=$(KUBESNAP_GIT_USERNAME)"},
			claim:     "kubesnap-state",
			secret:    "git-token",
			items:     []corev1.KeyToPath{{Key: "pat", Path: "token"}},
		},
	}
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load %s: %v", chartDir, err)
	}
	return ch
}

// chartValues parses a values file's text, as helm -f does.
func chartValues(t *testing.T, text string) map[string]any {
	t.Helper()
	vals, err := common.ReadValues([]byte(text))
	if err != nil {
		t.Fatalf("values do not parse: %v\n%s", err, text)
	}
	return vals
}

// chartCapabilities are the defaults with the control plane's version.
func chartCapabilities(t *testing.T) *common.Capabilities {
	t.Helper()
	kv, err := common.ParseKubeVersion(chartKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps
}

// renderChart renders the chart as `helm template release deploy/chart
// -n kubesnap-system -f values` does (with --skip-schema-validation when
// skipSchema), and returns every template's output by file name.
func renderChart(t *testing.T, release, values string, skipSchema bool) (map[string]string, error) {
	t.Helper()
	ch := loadChart(t)
	vals, err := util.ToRenderValuesWithSchemaValidation(ch, chartValues(t, values),
		common.ReleaseOptions{Name: release, Namespace: deployNamespace, Revision: 1, IsInstall: true},
		chartCapabilities(t), skipSchema)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, vals)
}

// chartDocs renders the chart and splits its manifests into objects; the
// stream is what `helm template` prints.
func chartDocs(t *testing.T, release, values string) ([]deployDoc, string) {
	t.Helper()
	out, err := renderChart(t, release, values, false)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	stream := chartStream(out)
	return splitDocs(t, "chart", stream), stream
}

// chartStream joins the rendered manifests, in file order, as one YAML
// stream; NOTES.txt and helpers are left out.
func chartStream(out map[string]string) string {
	var names []string
	for name := range out {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		if strings.TrimSpace(out[name]) != "" {
			b.WriteString("---\n# Source: " + name + "\n" + out[name] + "\n")
		}
	}
	return b.String()
}

func kindsOf(docs []deployDoc) []string {
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, d.kind+"/"+d.name)
	}
	slices.Sort(kinds)
	return kinds
}

func TestChartRendersDefaultsAndEveryOption(t *testing.T) {
	for _, tc := range chartCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			docs, _ := chartDocs(t, chartRelease, tc.values)
			want := []string{
				"ClusterRole/kubesnap-reader", "ClusterRoleBinding/kubesnap-reader",
				"ConfigMap/kubesnap-config", "ConfigMap/kubesnap-file", "Deployment/kubesnap",
				"PodDisruptionBudget/kubesnap", "Role/kubesnap-leader-election",
				"RoleBinding/kubesnap-leader-election", "Service/kubesnap-metrics", "ServiceAccount/kubesnap",
			}
			if tc.createsClaim {
				want = append(want, "PersistentVolumeClaim/"+tc.claim)
			}
			if tc.monitor {
				want = append(want, "ServiceMonitor/kubesnap")
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, kindsOf(docs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			for _, d := range docs {
				if d.kind != "ClusterRole" && d.kind != "ClusterRoleBinding" && d.namespace != deployNamespace {
					t.Errorf("%s/%s is in namespace %q, want the release's, %s", d.kind, d.name, d.namespace, deployNamespace)
				}
			}

			cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-config")
			if diff := cmp.Diff(tc.config, cm.Data); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			file := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-file")
			if _, err := parseConfig("kubesnap.yaml", []byte(file.Data["kubesnap.yaml"])); err != nil {
				t.Errorf("kubesnap refuses the chart's configuration file: %v\n%s", err, file.Data["kubesnap.yaml"])
			}

			dep := decodeDoc[appsv1.Deployment](t, docs, "Deployment", "kubesnap")
			checkChartDeployment(t, tc, dep)
		})
	}
}

// checkChartDeployment checks what the values change in the Deployment.
func checkChartDeployment(t *testing.T, tc chartCase, dep *appsv1.Deployment) {
	t.Helper()
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]
	if got := *dep.Spec.Replicas; got != tc.replicas {
		t.Errorf("replicas %d, want %d", got, tc.replicas)
	}
	if c.Image != tc.image {
		t.Errorf("image %q, want %q", c.Image, tc.image)
	}
	if diff := cmp.Diff(append(slices.Clone(chartArgs), tc.extraArgs...), c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	repo := vols["repo"]
	switch {
	case tc.claim == "" && repo.EmptyDir == nil:
		t.Errorf("repo volume %+v, want an emptyDir", repo.VolumeSource)
	case tc.claim != "" && (repo.PersistentVolumeClaim == nil || repo.PersistentVolumeClaim.ClaimName != tc.claim):
		t.Errorf("repo volume %+v, want the claim %s", repo.VolumeSource, tc.claim)
	}
	// A claim holds one pod's clone: the old pod goes before the new one.
	if recreate := dep.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType; recreate != (tc.claim != "") {
		t.Errorf("strategy %q with claim %q: want Recreate exactly when the repository is on a claim", dep.Spec.Strategy.Type, tc.claim)
	}
	creds, mounted := vols["git-credentials"], mounts["git-credentials"]
	if tc.secret == "" {
		if creds.Secret != nil || mounted.Name != "" {
			t.Errorf("credentials mounted without credentials.type: %+v", creds)
		}
	} else {
		want := &corev1.SecretVolumeSource{SecretName: tc.secret, Items: tc.items, DefaultMode: new(int32(0o440)), Optional: new(false)}
		if diff := cmp.Diff(want, creds.Secret); diff != "" {
			t.Errorf("credentials volume (-want +got):\n%s", diff)
		}
		if mounted.MountPath != "/etc/kubesnap/git" || !mounted.ReadOnly {
			t.Errorf("credentials mounted %+v, want read-only at /etc/kubesnap/git", mounted)
		}
	}
	// The hardening of deploy/base, whatever the values.
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v: want non-root, read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if tc.values == "" {
		return
	}
	// Every option of the full sets reaches the pod.
	full := chartValues(t, tc.values)
	if sel, ok := full["nodeSelector"]; ok && !cmp.Equal(toStringMap(sel), spec.NodeSelector) {
		t.Errorf("nodeSelector %v, want %v", spec.NodeSelector, sel)
	}
	if tol, ok := full["tolerations"]; ok && len(spec.Tolerations) != len(tol.([]any)) {
		t.Errorf("tolerations %+v, want %v", spec.Tolerations, tol)
	}
	if _, ok := full["resources"]; ok && c.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("resources %+v, want the values' (memory limit 1Gi)", c.Resources)
	}
	if _, ok := full["affinity"]; ok && (spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.PodAntiAffinity != nil) {
		t.Errorf("affinity %+v, want the values' node affinity instead of the default anti-affinity", spec.Affinity)
	}
}

func toStringMap(v any) map[string]string {
	out := map[string]string{}
	for k, x := range v.(map[string]any) {
		out[k] = x.(string)
	}
	return out
}
