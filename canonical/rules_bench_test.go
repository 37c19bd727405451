package canonical

import (
	"os"
	"testing"
)

// benchRules are 20 rules of the kinds users write: some select the
// Deployment and remove fields by path and by manager (a mesh operator's
// fields and kube-controller-manager's), some select it and find nothing,
// most select other kinds, namespaces or labels.
const benchRules = `
- {match: {group: apps, kind: Deployment}, ignoreFields: [spec.replicas]}
- {match: {kind: Deployment}, ignoreFields: ['spec.template.metadata.annotations["sidecar.istio.io/status"]']}
- {match: {group: apps, kind: Deployment}, ignoreFields: [/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt]}
- {match: {kind: Deployment}, ignoreManagers: [mesh-operator]}
- {ignoreManagers: ["kube-*"]}
- {match: {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration}, ignoreFields: ['webhooks[*].clientConfig.caBundle']}
- {match: {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration}, ignoreManagers: [cainjector]}
- {match: {group: apiextensions.k8s.io, kind: CustomResourceDefinition}, ignoreFields: [spec.conversion.webhook.clientConfig.caBundle]}
- {match: {group: apiregistration.k8s.io, kind: APIService}, ignoreFields: [spec.caBundle]}
- {match: {kind: HorizontalPodAutoscaler}, ignoreFields: [spec.metrics]}
- {match: {namespaces: [istio-system]}, ignoreManagers: [istiod]}
- {match: {labelSelector: "app.kubernetes.io/managed-by=Helm"}, ignoreFields: ['metadata.annotations["meta.helm.sh/release-name"]']}
- {match: {group: apps, kind: StatefulSet}, ignoreFields: [spec.replicas]}
- {match: {group: apps, kind: Deployment, names: ["db-*"]}, ignoreFields: ['spec.template.spec.containers[*].image']}
- {match: {group: apps, kind: Deployment, namespaces: ["kube-*"]}, ignoreManagers: ["*"]}
- {match: {group: "", kind: ConfigMap, names: [cluster-info]}, ignoreFields: [data]}
- {match: {group: "", kind: Service}, ignoreFields: ['spec.ports[*].nodePort']}
- {match: {kind: Deployment}, ignoreFields: ['spec.template.spec.containers[*].env[*].value']}
- {ignoreFields: ['metadata.annotations["argocd.argoproj.io/tracking-id"]']}
- {match: {group: apps, kind: DaemonSet}, ignoreManagers: [kube-controller-manager]}
`

// benchOtherRules are 20 rules none of which selects the Deployment: what
// most objects meet.
const benchOtherRules = `
- {match: {group: apps, kind: StatefulSet}, ignoreFields: [spec.replicas]}
- {match: {group: apps, kind: DaemonSet}, ignoreManagers: [kube-controller-manager]}
- {match: {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration}, ignoreFields: ['webhooks[*].clientConfig.caBundle']}
- {match: {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration}, ignoreManagers: [cainjector]}
- {match: {group: apiextensions.k8s.io, kind: CustomResourceDefinition}, ignoreFields: [spec.conversion.webhook.clientConfig.caBundle]}
- {match: {group: apiregistration.k8s.io, kind: APIService}, ignoreFields: [spec.caBundle]}
- {match: {kind: HorizontalPodAutoscaler}, ignoreFields: [spec.metrics]}
- {match: {namespaces: [istio-system]}, ignoreManagers: [istiod]}
- {match: {labelSelector: "app.kubernetes.io/managed-by=Helm"}, ignoreFields: ['metadata.annotations["meta.helm.sh/release-name"]']}
- {match: {group: apps, kind: Deployment, names: ["db-*"]}, ignoreFields: ['spec.template.spec.containers[*].image']}
- {match: {group: apps, kind: Deployment, namespaces: ["kube-*"]}, ignoreManagers: ["*"]}
- {match: {group: "", kind: ConfigMap, names: [cluster-info]}, ignoreFields: [data]}
- {match: {group: "", kind: Service}, ignoreFields: ['spec.ports[*].nodePort']}
- {match: {group: "", kind: Pod}, ignoreFields: [spec.nodeName]}
- {match: {group: batch, kind: CronJob}, ignoreFields: [spec.suspend]}
- {match: {group: networking.k8s.io, kind: Ingress}, ignoreManagers: [ingress-controller]}
- {match: {group: policy, kind: PodDisruptionBudget}, ignoreFields: [spec.minAvailable]}
- {match: {kind: "Certificate*"}, ignoreManagers: [cert-manager*]}
- {match: {group: "*.istio.io"}, ignoreManagers: [istiod]}
- {match: {group: apps, kind: Deployment, labelSelector: "tier=db"}, ignoreFields: [spec.replicas]}
`

// BenchmarkNormalizeWithRules normalizes a Deployment as the watcher does
// for every event (a copy of the live object, managedFields of three
// managers included), with no rules, 20 rules of which several select it,
// and 20 rules none of which does. Each iteration copies the object first,
// in every case alike.
func BenchmarkNormalizeWithRules(b *testing.B) {
	data, err := os.ReadFile("testdata/rules/manager-two-managers/live.yaml")
	if err != nil {
		b.Fatal(err)
	}
	live := object(b, string(data))
	for _, bc := range []struct {
		name  string
		rules Rules
	}{
		{"none", nil},
		{"20-rules", mustRules(b, benchRules)},
		{"20-rules-none-match", mustRules(b, benchOtherRules)},
	} {
		if n := len(bc.rules); n != 0 && n != 20 {
			b.Fatalf("%s: %d rules", bc.name, n)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(live.DeepCopy(), Facts{Rules: bc.rules})
			}
		})
	}
}
