package sync

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var deployments = canonical.Type{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true, Verbs: []string{"create", "list", "watch"}}

// benchObject is object i of internal/bench's cluster (its ConfigMaps,
// Secrets, Deployments and Services), as the informer gets it.
func benchObject(i int) (canonical.Type, *unstructured.Unstructured) {
	ns, name := fmt.Sprintf("bench-%02d", i%50), fmt.Sprintf("obj-%05d", i)
	meta := map[string]any{"name": name, "namespace": ns, "resourceVersion": fmt.Sprint(1000 + i), "uid": fmt.Sprintf("0000-%08d", i),
		"labels": map[string]any{"app": name, "tier": "bench"}, "creationTimestamp": "2026-12-05T11:00:00Z",
		"managedFields": []any{map[string]any{"manager": "bench.test", "operation": "Update", "apiVersion": "v1", "time": "2026-12-05T11:00:00Z",
			"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}}}}}}}
	labels := map[string]any{"app": name, "tier": "bench"}
	switch i % 8 {
	case 0, 1, 2:
		return configMaps, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
			"data": map[string]any{"config.yaml": fmt.Sprintf("replicas: %d\nlog: info\nendpoint: http://svc-%d.%s:8080\n", i%7, i, ns)}}}
	case 3, 4:
		return secrets, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
			"data": map[string]any{"password": fmt.Sprintf("YmVuY2gtc2VjcmV0LSVk%08d", i)}}}
	default:
		return deployments, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
			"spec": map[string]any{"replicas": int64(0), "selector": map[string]any{"matchLabels": labels},
				"template": map[string]any{"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.example/app:1.0",
						"ports": []any{map[string]any{"containerPort": int64(8080), "protocol": "TCP"}}}}}}}}}
	}
}

// BenchmarkKeptPerObject reports the heap an informer's cache keeps per
// object of the benchmark cluster (what the transform returns, after the
// watcher's handler took what it takes), with the branch holding every
// object already: the watcher's steady state.
func BenchmarkKeptPerObject(b *testing.B) {
	const n = 20000
	for b.Loop() {
		st := newFakeStore()
		w := NewWatcher(newFakeCluster(), st, WatchOptions{})
		w.stored = map[string]string{}
		for i := range n {
			t, obj := benchObject(i)
			k := w.keep(t, obj, true)
			w.stored[k.Path] = k.Sum
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept := make([]*Kept, n)
		for i := range n {
			t, obj := benchObject(i)
			kept[i] = w.transform(t)(obj)
			w.event(t.ResourceDir(), kept[i], false)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/object")
		runtime.KeepAlive(kept)
		runtime.KeepAlive(w)
	}
}
