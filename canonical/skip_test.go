package canonical

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var all = []string{"create", "delete", "get", "list", "patch", "update", "watch"}

func TestSkipType(t *testing.T) {
	tests := []struct {
		name       string
		t          Type
		skip       bool
		capturable bool
	}{
		{"a workload type is captured", Type{Group: "apps", Resource: "deployments", Verbs: all}, false, true},
		{"events are ephemeral", Type{Resource: "events", Verbs: all}, true, true},
		{"leases are ephemeral", Type{Group: "coordination.k8s.io", Resource: "leases", Verbs: all}, true, true},
		{"a subresource is part of its parent", Type{Group: "apps", Resource: "deployments/scale", Verbs: all}, true, false},
		{"a type that cannot be watched cannot be kept in step", Type{Resource: "componentstatuses", Verbs: []string{"get", "list"}}, true, false},
		{"a review cannot be listed", Type{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verbs: []string{"create"}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, skip := SkipType(tt.t)
			if skip != tt.skip || skip && reason == "" {
				t.Errorf("SkipType = %q, %v; want skip %v with a reason", reason, skip, tt.skip)
			}
			if _, ok := Capturable(tt.t); ok != tt.capturable {
				t.Errorf("Capturable = %v, want %v", ok, tt.capturable)
			}
		})
	}
}

func TestSkipObject(t *testing.T) {
	yes := true
	obj := func(kind, name string, mutate func(*unstructured.Unstructured)) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind(kind)
		o.SetName(name)
		if mutate != nil {
			mutate(o)
		}
		return o
	}
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		skip bool
	}{
		{"a plain ConfigMap is kept", obj("ConfigMap", "a", nil), false},
		{"the API server's root CA ConfigMap is skipped", obj("ConfigMap", "kube-root-ca.crt", nil), true},
		{"an object being deleted is skipped", obj("ConfigMap", "a", func(o *unstructured.Unstructured) { now := metav1.Now(); o.SetDeletionTimestamp(&now) }), true},
		{"a Pod of a ReplicaSet is skipped", obj("Pod", "p", func(o *unstructured.Unstructured) {
			o.SetOwnerReferences([]metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &yes}})
		}), true},
		{"an object with a non-controller owner is kept", obj("ConfigMap", "a", func(o *unstructured.Unstructured) {
			o.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Thing", Name: "t"}})
		}), false},
		{"a mirror pod is skipped", obj("Pod", "p", func(o *unstructured.Unstructured) {
			o.SetAnnotations(map[string]string{"kubernetes.io/config.mirror": "x"})
		}), true},
		{"a completed pod is skipped", obj("Pod", "p", func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "Succeeded", "status", "phase")
		}), true},
		{"a running standalone pod is kept", obj("Pod", "p", nil), false},
		{"the Service default/kubernetes is skipped", obj("Service", "kubernetes", func(o *unstructured.Unstructured) { o.SetNamespace("default") }), true},
		{"a Service named kubernetes elsewhere is kept", obj("Service", "kubernetes", func(o *unstructured.Unstructured) { o.SetNamespace("shop") }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if reason, skip := SkipObject(tt.obj); skip != tt.skip {
				t.Errorf("SkipObject = %q, %v; want %v", reason, skip, tt.skip)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	f := Filter{IncludeNamespaces: []string{"shop"}, ExcludeResources: []string{"secrets"}}
	cm := ID{Resource: "configmaps", Namespace: "shop", Name: "a"}
	tests := []struct {
		name string
		id   ID
		want bool
	}{
		{"an object in an included namespace", cm, true},
		{"an object in another namespace", ID{Resource: "configmaps", Namespace: "billing", Name: "a"}, false},
		{"an excluded resource", ID{Resource: "secrets", Namespace: "shop", Name: "a"}, false},
		{"the included Namespace itself", ID{Resource: "namespaces", Name: "shop"}, true},
		{"another Namespace", ID{Resource: "namespaces", Name: "billing"}, false},
		{"a cluster-scoped object when namespaces are chosen", ID{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.ID(tt.id); got != tt.want {
				t.Errorf("ID(%v) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
	named := Filter{IncludeNamespaces: []string{"shop"}, IncludeResources: []string{"clusterroles.rbac.authorization.k8s.io"}}
	if !named.ID(ID{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "x"}) {
		t.Error("a cluster-scoped type named in IncludeResources is out of scope")
	}
	if err := (Filter{IncludeResources: []string{"Deployments.apps"}}).Validate(); err == nil {
		t.Error("Validate accepted a resource in upper case")
	}
}
