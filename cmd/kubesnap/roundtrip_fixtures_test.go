package main

import (
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// roundTripExtras are objects the examples lack, in a namespace of the
// test's own (NS): a headless Service, a NodePort Service whose port the
// server assigns, a RoleBinding with subjects in two namespaces, a
// suspended CronJob, a LimitRange and a ResourceQuota.
const roundTripExtras = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: edge}
spec:
  type: NodePort
  selector: {app: edge}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reporter}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reporter-views-shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "shop:Viewer"}
subjects:
- {kind: ServiceAccount, name: reporter, namespace: NS}
- {kind: ServiceAccount, name: invoicer, namespace: billing}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: busybox:1.36, command: [sh, -c, echo report]}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits: [{type: Container, default: {cpu: 500m, memory: 128Mi}, defaultRequest: {cpu: 100m, memory: 64Mi}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota}
spec:
  hard: {pods: "10", requests.cpu: "2"}
`

// roundTripGizmoCRD defines a cluster-scoped custom resource type: a
// restore into B must create it before its objects.
const roundTripGizmoCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.roundtrip.kubesnap.test}
spec:
  group: roundtrip.kubesnap.test
  scope: Cluster
  names: {plural: gizmos, singular: gizmo, kind: Gizmo}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              level: {type: integer}
              owner: {type: string}
`

// roundTripClusterExtras are cluster-scoped objects the examples lack: a
// cluster-scoped custom resource, and an aggregated ClusterRole (its
// rules are the controller-manager's, in A and in B, and not stored).
const roundTripClusterExtras = `apiVersion: roundtrip.kubesnap.test/v1
kind: Gizmo
metadata: {name: main-gizmo}
spec: {level: 7, owner: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: roundtrip-gizmo-viewer}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {roundtrip.kubesnap.test/aggregate: "true"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: roundtrip-gizmo-reader
  labels: {roundtrip.kubesnap.test/aggregate: "true"}
rules: [{apiGroups: [roundtrip.kubesnap.test], resources: [gizmos], verbs: [get, list]}]
`

// roundTripFixture applies the examples and the extras to A; the extras
// go in a fresh namespace it returns. All of the extras go when t ends,
// and t waits until they have gone, so that later tests see a cluster
// that no longer changes.
func roundTripFixture(t *testing.T) string {
	t.Helper()
	ns := env.Namespace(t)
	t.Cleanup(func() {
		if out, err := env.KubectlErr("", "delete", "--ignore-not-found", "--wait=true", "--timeout=60s",
			"crd/gizmos.roundtrip.kubesnap.test", "clusterrole/roundtrip-gizmo-viewer", "clusterrole/roundtrip-gizmo-reader"); err != nil {
			t.Errorf("delete the round trip's cluster objects: %v\n%s", err, out)
		}
	})
	var namespaced []string
	for _, o := range readYAML(t, strings.ReplaceAll(roundTripExtras, "namespace: NS", "namespace: "+ns)) {
		o.SetNamespace(ns)
		data, err := canonical.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		namespaced = append(namespaced, string(data))
	}
	applyExamples(t, roundTripGizmoCRD, roundTripClusterExtras+"---\n"+strings.Join(namespaced, "---\n"), ns)
	// The aggregation controller fills the aggregated role's rules; they
	// are not stored, but A must be settled before the snapshot.
	c := env.Client(t)
	pollUntil(t, "the aggregated ClusterRole's rules", func() bool {
		r, err := c.RbacV1().ClusterRoles().Get(t.Context(), "roundtrip-gizmo-viewer", metav1.GetOptions{})
		return err == nil && len(r.Rules) > 0
	})
	return ns
}
