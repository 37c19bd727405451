package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The chart against deploy/'s kustomize builds, and against the real API
// server.

// chartTwins pairs each kustomization with the chart values that must
// render the same objects (the credentials Secret named as the overlays
// generate it).
var chartTwins = []struct{ dir, values string }{
	{"base", ""},
	{"overlays/ssh", "remote: ssh://git@git.example.com/example/cluster-state.git\ncredentials: {type: ssh, secretName: kubesnap-git}"},
	{"overlays/https-token", "remote: https://git.example.com/example/cluster-state.git\ncredentials: {type: https-token, secretName: kubesnap-git}"},
}

// TestChartRBACMatchesKustomizeBase fails when the chart's RBAC and the
// base's drift apart: the same rules, bindings of the same kind to the
// chart's own role and service account, whatever the release is called.
func TestChartRBACMatchesKustomizeBase(t *testing.T) {
	testenv.Require(t, env)
	base := buildDeploy(t, "base")
	const release = "backup" // objects named backup-kubesnap-…
	docs, _ := chartDocs(t, release, "")
	prefix := release + "-kubesnap"

	for _, kind := range []string{"ClusterRole", "Role"} {
		suffix := map[string]string{"ClusterRole": "-reader", "Role": "-leader-election"}[kind]
		want := decodeDoc[rbacv1.ClusterRole](t, base, kind, "kubesnap"+suffix)
		got := decodeDoc[rbacv1.ClusterRole](t, docs, kind, prefix+suffix)
		if diff := cmp.Diff(want.Rules, got.Rules); diff != "" {
			t.Errorf("%s rules: the chart's differ from deploy/base's (-base +chart):\n%s", kind, diff)
		}
		if want.AggregationRule != nil || got.AggregationRule != nil {
			t.Errorf("%s aggregates other roles", kind)
		}

		binding := kind + "Binding"
		wantB := decodeDoc[rbacv1.RoleBinding](t, base, binding, "kubesnap"+suffix)
		gotB := decodeDoc[rbacv1.RoleBinding](t, docs, binding, prefix+suffix)
		wantRef := wantB.RoleRef
		wantRef.Name = got.Name
		if gotB.RoleRef != wantRef {
			t.Errorf("%s binds %+v, want %+v", binding, gotB.RoleRef, wantRef)
		}
		wantSubjects := []rbacv1.Subject{}
		for _, s := range wantB.Subjects {
			s.Name = prefix
			wantSubjects = append(wantSubjects, s)
		}
		if diff := cmp.Diff(wantSubjects, gotB.Subjects); diff != "" {
			t.Errorf("%s subjects (-base, renamed +chart):\n%s", binding, diff)
		}
	}
	sa := decodeDoc[corev1.ServiceAccount](t, docs, "ServiceAccount", prefix)
	if sa.Namespace != deployNamespace {
		t.Errorf("ServiceAccount in %q, want %s", sa.Namespace, deployNamespace)
	}
	dep := decodeDoc[appsv1.Deployment](t, docs, "Deployment", prefix)
	if dep.Spec.Template.Spec.ServiceAccountName != prefix {
		t.Errorf("pods run as %q, want the bound %s", dep.Spec.Template.Spec.ServiceAccountName, prefix)
	}
}

// TestChartRendersWhatKustomizeBuilds compares each kustomization's pod,
// settings, configuration file, Service and PodDisruptionBudget with the
// chart's for the same values, up to names, labels and the image.
func TestChartRendersWhatKustomizeBuilds(t *testing.T) {
	testenv.Require(t, env)
	for _, twin := range chartTwins {
		t.Run(twin.dir, func(t *testing.T) {
			kz := buildDeploy(t, twin.dir)
			docs, _ := chartDocs(t, chartRelease, twin.values)

			wantCM := decodeDoc[corev1.ConfigMap](t, kz, "ConfigMap", "kubesnap-config")
			gotCM := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-config")
			if diff := cmp.Diff(wantCM.Data, gotCM.Data); diff != "" {
				t.Errorf("settings (-kustomize +chart):\n%s", diff)
			}
			var wantFile, gotFile any
			for doc, out := range map[*corev1.ConfigMap]*any{
				decodeDoc[corev1.ConfigMap](t, kz, "ConfigMap", "kubesnap-file"):   &wantFile,
				decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap", "kubesnap-file"): &gotFile,
			} {
				if err := yaml.Unmarshal([]byte(doc.Data["kubesnap.yaml"]), out); err != nil {
					t.Fatalf("ConfigMap %s: %v", doc.Name, err)
				}
			}
			if diff := cmp.Diff(wantFile, gotFile); diff != "" {
				t.Errorf("configuration file (-kustomize +chart):\n%s", diff)
			}

			want := decodeDoc[appsv1.Deployment](t, kz, "Deployment", "kubesnap")
			got := decodeDoc[appsv1.Deployment](t, docs, "Deployment", "kubesnap")
			if *want.Spec.Replicas != *got.Spec.Replicas {
				t.Errorf("replicas %d, want %d", *got.Spec.Replicas, *want.Spec.Replicas)
			}
			checkSelects(t, "Deployment", want.Spec.Selector.MatchLabels, got.Spec.Selector.MatchLabels, got.Spec.Template.Labels)
			for k, v := range want.Spec.Template.Annotations {
				if got.Spec.Template.Annotations[k] != v {
					t.Errorf("pod annotation %s=%q, want %q", k, got.Spec.Template.Annotations[k], v)
				}
			}
			wantPod, gotPod := comparablePod(t, want, twin.dir == "base"), comparablePod(t, got, false)
			if diff := cmp.Diff(wantPod, gotPod); diff != "" {
				t.Errorf("pod spec (-kustomize +chart):\n%s", diff)
			}

			wantSvc := decodeDoc[corev1.Service](t, kz, "Service", "kubesnap-metrics")
			gotSvc := decodeDoc[corev1.Service](t, docs, "Service", "kubesnap-metrics")
			if diff := cmp.Diff(wantSvc.Spec.Ports, gotSvc.Spec.Ports); diff != "" {
				t.Errorf("Service ports (-kustomize +chart):\n%s", diff)
			}
			if diff := cmp.Diff(wantSvc.Annotations, gotSvc.Annotations); diff != "" {
				t.Errorf("Service annotations (-kustomize +chart):\n%s", diff)
			}
			checkSelects(t, "Service", wantSvc.Spec.Selector, gotSvc.Spec.Selector, got.Spec.Template.Labels)

			wantPDB := decodeDoc[policyv1.PodDisruptionBudget](t, kz, "PodDisruptionBudget", "kubesnap")
			gotPDB := decodeDoc[policyv1.PodDisruptionBudget](t, docs, "PodDisruptionBudget", "kubesnap")
			if diff := cmp.Diff(wantPDB.Spec.MaxUnavailable, gotPDB.Spec.MaxUnavailable); diff != "" {
				t.Errorf("PodDisruptionBudget (-kustomize +chart):\n%s", diff)
			}
			checkSelects(t, "PodDisruptionBudget", wantPDB.Spec.Selector.MatchLabels, gotPDB.Spec.Selector.MatchLabels, got.Spec.Template.Labels)
		})
	}
}

// checkSelects: the chart's selector holds the kustomization's labels
// (and may add the release's) and selects the chart's pods.
func checkSelects(t *testing.T, what string, want, got, podLabels map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s selects %v, want it to hold %s=%s", what, got, k, v)
		}
	}
	for k, v := range got {
		if podLabels[k] != v {
			t.Errorf("%s selects %s=%s, which the pods do not carry (%v)", what, k, v, podLabels)
		}
	}
}

// comparablePod is d's pod spec without what differs by construction: the
// image, kustomize's name hashes, the pod anti-affinity's labels (checked
// to select the Deployment's pods), the items that map the Secret's keys
// to the same file names, and the base's optional credentials that no
// argument reads; volumes in name order.
func comparablePod(t *testing.T, d *appsv1.Deployment, dropOptionalCredentials bool) corev1.PodSpec {
	t.Helper()
	spec := *d.Spec.Template.Spec.DeepCopy()
	spec.Containers[0].Image = ""
	if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for i, term := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if !maps.Equal(term.PodAffinityTerm.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("%s: the anti-affinity's labels %v are not the Deployment's selector %v", d.Name, term.PodAffinityTerm.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels)
			}
			a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm.LabelSelector = nil
		}
	}
	for i := range spec.Containers[0].EnvFrom {
		if r := spec.Containers[0].EnvFrom[i].ConfigMapRef; r != nil {
			r.Name = unhashed(r.Name)
		}
	}
	var vols []corev1.Volume
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			v.ConfigMap.Name = unhashed(v.ConfigMap.Name)
		case v.Secret != nil && dropOptionalCredentials && v.Secret.Optional != nil && *v.Secret.Optional:
			continue
		case v.Secret != nil:
			v.Secret.SecretName = unhashed(v.Secret.SecretName)
			for _, item := range v.Secret.Items {
				if item.Key != item.Path {
					t.Errorf("%s: Secret key %s mounted as %s: not comparable to kustomize's", d.Name, item.Key, item.Path)
				}
			}
			v.Secret.Items = nil
		}
		vols = append(vols, v)
	}
	// Kustomize's patches may reorder volumes, which means nothing.
	slices.SortFunc(vols, func(a, b corev1.Volume) int { return strings.Compare(a.Name, b.Name) })
	spec.Volumes = vols
	if dropOptionalCredentials {
		spec.Containers[0].VolumeMounts = slices.DeleteFunc(spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "git-credentials" })
	}
	return spec
}

// unhashed is a generated name without kustomize's hash suffix; the
// chart's names have none.
func unhashed(name string) string {
	for _, prefix := range []string{"kubesnap-config", "kubesnap-file", "kubesnap-git"} {
		if strings.HasPrefix(name, prefix+"-") {
			return prefix
		}
	}
	return name
}

// serviceMonitorCRD is the least of the Prometheus Operator's CRD that
// lets the API server take a ServiceMonitor.
const serviceMonitorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor, listKind: ServiceMonitorList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// TestChartServerDryRunAcceptsEveryObject sends every object the chart
// renders, for each value set, to the API server with dryRun=All (helm
// install --dry-run=server), into the base's kubesnap-system, which
// enforces the restricted Pod Security Standard.
func TestChartServerDryRunAcceptsEveryObject(t *testing.T) {
	testenv.Require(t, env)
	withDeployNamespace(t, buildDeploy(t, "base"))
	env.Kubectl(t, serviceMonitorCRD, "apply", "-f", "-")
	t.Cleanup(func() {
		if out, err := env.KubectlErr("", "delete", "--ignore-not-found", "crd/servicemonitors.monitoring.coreos.com"); err != nil {
			t.Errorf("delete the ServiceMonitor CRD: %v\n%s", err, out)
		}
	})
	env.Kubectl(t, "", "wait", "--for", "condition=established", "crd/servicemonitors.monitoring.coreos.com")

	for _, tc := range chartCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			docs, stream := chartDocs(t, chartRelease, tc.values)
			checkReadOnlyRBAC(t, docs)
			out := env.Kubectl(t, stream, "apply", "--dry-run=server", "-f", "-")
			if n := strings.Count(out, " created (server dry run)"); n != len(docs) {
				t.Errorf("%d of %d objects accepted:\n%s", n, len(docs), out)
			}
			if strings.Contains(out, "PodSecurity") || strings.Contains(out, "Warning") {
				t.Errorf("the API server warns:\n%s", out)
			}
		})
	}
	// A dry run leaves nothing behind.
	if out, err := env.KubectlErr("", "get", "clusterrole", "kubesnap-reader"); err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("ClusterRole kubesnap-reader after dry runs: %v %s, want NotFound", err, out)
	}
}
