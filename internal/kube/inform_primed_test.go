package kube

import (
	"net/http"
	"testing"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// A primed informer starts from its primed list without a LIST, and
// watches. When its watch cannot resume (410 Gone: the primed version is
// compacted away), it lists for real and its handler hears of what the
// primed list lacked. (No control plane: client-go's fake dynamic client
// serves the list and the watch.)
func TestPrimedInformerListsOnlyWhenItsWatchCannotResume(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	cm := func(name, rv string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": rv},
		}}
	}
	// b is live but not in the primed list: only a real list finds it.
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "ConfigMapList"}, cm("a", "1"), cm("b", "2"))
	watches := 0
	dyn.PrependWatchReactor("configmaps", func(clienttesting.Action) (bool, watch.Interface, error) {
		watches++
		if watches > 1 {
			return false, nil, nil // the fake's own watch
		}
		w := watch.NewRaceFreeFake()
		w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
		return true, w, nil
	})
	c := &Cluster{dynamic: dyn}
	events := keptEvents{ch: make(chan string, 16)}
	transform := func(u *unstructured.Unstructured) *snapsync.Kept {
		return &snapsync.Kept{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion(), Path: u.GetName() + ".yaml", Sum: "listed"}
	}
	primed := &snapsync.Primed{ResourceVersion: "1", Items: []*snapsync.Kept{{Namespace: "ns", Name: "a", ResourceVersion: "1", Path: "a.yaml", Sum: "primed"}}}
	inf, err := c.Inform(t.Context(), configmaps, snapsync.InformOptions{Transform: transform, Primed: primed}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Stop()
	events.next(t, "upsert ns/a 1 primed")
	// The watch failed with 410: the relist finds b, and a as listed.
	got := map[string]bool{}
	for range 2 {
		select {
		case e := <-events.ch:
			got[e] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("after the 410 the handler got only %v", got)
		}
	}
	for _, want := range []string{"upsert ns/b 2 listed", "upsert ns/a 1 listed"} {
		if !got[want] {
			t.Errorf("after the 410 the handler got %v, want %q", got, want)
		}
	}
	lists := 0
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "list" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("%d LISTs, want 1: none for the primed start, one after the 410", lists)
	}
}
