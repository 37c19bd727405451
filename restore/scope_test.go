package restore

import (
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestNeverPruned(t *testing.T) {
	obj := func(ns, name string, ann, lbl map[string]string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{}}
		o.SetNamespace(ns)
		o.SetName(name)
		o.SetAnnotations(ann)
		o.SetLabels(lbl)
		return o
	}
	cm := canonical.Type{Resource: "configmaps", Namespaced: true}
	cr := canonical.Type{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}
	fs := canonical.Type{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"}
	for _, c := range []struct {
		name  string
		t     canonical.Type
		obj   *unstructured.Unstructured
		never bool
	}{
		{"an app's ConfigMap may be pruned", cm, obj("shop", "settings", nil, nil), false},
		{"a ClusterRole a user made may be pruned", cr, obj("", "shop:viewer", nil, nil), false},
		{"an autoupdate ClusterRole is kept", cr, obj("", "cluster-admin", map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "true"}, nil), true},
		{"a bootstrapping-labelled ClusterRole is kept", cr, obj("", "system:basic-user", nil, map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}), true},
		{"a mandatory FlowSchema is kept", fs, obj("", "exempt", map[string]string{"apf.kubernetes.io/autoupdate-spec": "true"}, nil), true},
		{"a FlowSchema whose spec a user took over is kept", fs, obj("", "global-default", map[string]string{"apf.kubernetes.io/autoupdate-spec": "false"}, nil), true},
		{"the kubernetes Service is kept", canonical.Type{Resource: "services", Namespaced: true}, obj("default", "kubernetes", nil, nil), true},
		{"kube-root-ca.crt is kept", cm, obj("shop", "kube-root-ca.crt", nil, nil), true},
		{"a namespace's default ServiceAccount is kept", canonical.Type{Resource: "serviceaccounts", Namespaced: true}, obj("shop", "default", nil, nil), true},
		{"another ServiceAccount may be pruned", canonical.Type{Resource: "serviceaccounts", Namespaced: true}, obj("shop", "runner", nil, nil), false},
		{"the ServiceCIDR is kept", canonical.Type{Group: "networking.k8s.io", Resource: "servicecidrs"}, obj("", "kubernetes", nil, nil), true},
		{"kube-system is kept", canonical.Type{Resource: "namespaces"}, obj("", "kube-system", nil, nil), true},
		{"kubesnap's namespace is kept", canonical.Type{Resource: "namespaces"}, obj("", "kubesnap-system", nil, nil), true},
		{"what is in kubesnap's namespace is kept", cm, obj("kubesnap-system", "kubesnap-file", nil, nil), true},
		{"the digest key is kept wherever it is", canonical.Type{Resource: "secrets", Namespaced: true}, obj("ops", "kubesnap-digest-key", nil, nil), true},
		{"kubesnap's Leases are kept", canonical.Type{Group: "coordination.k8s.io", Resource: "leases", Namespaced: true}, obj("ops", "kubesnap-leader", nil, nil), true},
		{"another namespace may be pruned", canonical.Type{Resource: "namespaces"}, obj("", "other", nil, nil), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			why, never := neverPruned(c.t, c.obj)
			if never != c.never || never && why == "" {
				t.Errorf("neverPruned = %q, %v; want %v with a reason", why, never, c.never)
			}
		})
	}
}

func TestCRDsAreKeptUnlessAsked(t *testing.T) {
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{"group": "example.com", "scope": "Namespaced",
			"names":    map[string]any{"plural": "widgets", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "storage": true}}},
	}}
	if _, kept := crdKept(crd, false, nil); !kept {
		t.Error("a CRD is pruned without --prune-crds")
	}
	if why, kept := crdKept(crd, true, map[string]bool{"widgets.example.com": true}); !kept || why == "" {
		t.Error("a CRD is pruned while the revision holds objects of its type")
	}
	if _, kept := crdKept(crd, true, map[string]bool{"gadgets.example.com": true}); kept {
		t.Error("--prune-crds keeps a CRD the revision holds nothing of")
	}
}
