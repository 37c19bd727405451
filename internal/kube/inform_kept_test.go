package kube

import (
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// keptEvents records what an informer hands over.
type keptEvents struct{ ch chan string }

func (e keptEvents) Upsert(k *snapsync.Kept) {
	e.ch <- "upsert " + k.Namespace + "/" + k.Name + " " + k.ResourceVersion + " " + k.Sum
}
func (e keptEvents) Delete(k *snapsync.Kept) {
	e.ch <- "delete " + k.Namespace + "/" + k.Name + " " + k.Sum
}

// next fails t unless the next event handed over, within 10 s, is want.
func (e keptEvents) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-e.ch:
		if got != want {
			t.Fatalf("handler got %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("handler got nothing, want %q", want)
	}
}

// The informer's cache holds only what the transform kept, keyed by
// namespace and name: adds, updates and deletes reach the handler as
// Kept, and Get finds it. (No control plane: client-go's fake dynamic
// client serves the list and the watch.)
func TestInformKeepsOnlyWhatTheTransformReturns(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	cm := func(name, rv, value string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": rv},
			"data":     map[string]any{"k": value},
		}}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "ConfigMapList"}, cm("a", "1", "one"))
	c := &Cluster{dynamic: dyn}
	events := keptEvents{ch: make(chan string, 16)}
	transform := func(u *unstructured.Unstructured) *snapsync.Kept {
		v, _, _ := unstructured.NestedString(u.Object, "data", "k")
		return &snapsync.Kept{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion(), Path: u.GetName() + ".yaml", Sum: v}
	}
	inf, err := c.Inform(t.Context(), configmaps, snapsync.InformOptions{Transform: transform}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Stop()
	events.next(t, "upsert ns/a 1 one")
	for !inf.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	if k, ok := inf.Get("ns", "a"); !ok || k.Sum != "one" || k.Path != "a.yaml" {
		t.Errorf("Get(ns, a) = %+v, %v", k, ok)
	}
	if _, err := dyn.Resource(gvr).Namespace("ns").Update(t.Context(), cm("a", "2", "two"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	events.next(t, "upsert ns/a 2 two")
	if err := dyn.Resource(gvr).Namespace("ns").Delete(t.Context(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	events.next(t, "delete ns/a two")
	if k, ok := inf.Get("ns", "a"); ok {
		t.Errorf("Get after the delete = %+v", k)
	}
}
