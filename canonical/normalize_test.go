package canonical

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestNormalizeNamesTheNewestManager(t *testing.T) {
	entry := func(manager, time, sub string) any {
		e := map[string]any{"manager": manager, "operation": "Update"}
		if time != "" {
			e["time"] = time
		}
		if sub != "" {
			e["subresource"] = sub
		}
		return e
	}
	tests := []struct {
		name    string
		entries []any
		want    string
	}{
		{"the newest writer wins", []any{entry("kubectl-create", "2026-11-22T10:00:00Z", ""), entry("kubectl-edit", "2026-11-22T11:00:00Z", "")}, "kubectl-edit"},
		{"status writers made no stored change", []any{entry("kubectl-edit", "2026-11-22T10:00:00Z", ""), entry("kube-controller-manager", "2026-11-22T12:00:00Z", "status")}, "kubectl-edit"},
		{"on a tie the later entry wins", []any{entry("a", "2026-11-22T10:00:00Z", ""), entry("b", "2026-11-22T10:00:00Z", "")}, "b"},
		{"an entry without a time loses to one with", []any{entry("kubectl", "", "scale"), entry("kubectl-create", "2026-11-22T10:00:00Z", "")}, "kubectl-create"},
		{"an entry without a time is named when it is all there is", []any{entry("kubectl", "", "scale")}, "kubectl"},
		{"no managed fields, no manager", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "a", "managedFields": tt.entries},
			}}
			if got := Normalize(obj, Facts{}).Manager; got != tt.want {
				t.Errorf("Manager = %q, want %q", got, tt.want)
			}
			if _, ok := obj.Object["metadata"].(map[string]any)["managedFields"]; ok {
				t.Error("managedFields survived Normalize")
			}
		})
	}
}

func TestNormalizeDropsVolumeNameWhenVolumesAreNotCaptured(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": "data", "namespace": "a"},
		"spec":     map[string]any{"volumeName": "pv-1"},
	}}
	Normalize(obj, Facts{PersistentVolumesCaptured: false})
	if _, found, _ := unstructured.NestedString(obj.Object, "spec", "volumeName"); found {
		t.Error("volumeName kept although PersistentVolumes are not captured")
	}
}
