package restore

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// mapNamespaces moves objects between namespaces (OLD → NEW): namespaced
// objects, the Namespace objects themselves, and the namespaces of
// RoleBinding and ClusterRoleBinding subjects (as Velero does). It returns
// notes on what it does not rewrite: service DNS names in ConfigMaps,
// webhook and APIService service namespaces.
func mapNamespaces(objs []Object, m map[string]string) ([]Object, []string) {
	if len(m) == 0 {
		return objs, nil
	}
	var notes []string
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		obj := o.Obj.DeepCopy()
		id := o.ID
		if to, ok := m[id.Namespace]; ok {
			id.Namespace = to
			obj.SetNamespace(to)
		}
		switch id.ResourceDir() {
		case "namespaces":
			if to, ok := m[id.Name]; ok {
				id.Name = to
				obj.SetName(to)
			}
		case "rolebindings.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io":
			mapSubjects(obj, m)
		case "configmaps":
			for _, from := range mentions(obj, m) {
				notes = append(notes, fmt.Sprintf("%s mentions namespace %s in a service DNS name: not rewritten", id, from))
			}
		case "validatingwebhookconfigurations.admissionregistration.k8s.io", "mutatingwebhookconfigurations.admissionregistration.k8s.io":
			webhooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
			for _, w := range webhooks {
				wm, _ := w.(map[string]any)
				if ns, _, _ := unstructured.NestedString(wm, "clientConfig", "service", "namespace"); m[ns] != "" {
					notes = append(notes, fmt.Sprintf("%s calls a service in namespace %s: not rewritten", id, ns))
				}
			}
		case canonical.APIServiceDir:
			if ns, _, _ := unstructured.NestedString(obj.Object, "spec", "service", "namespace"); m[ns] != "" {
				notes = append(notes, fmt.Sprintf("%s is served from namespace %s: not rewritten", id, ns))
			}
		}
		out = append(out, Object{ID: id, Path: canonical.PathOf(id), Obj: obj})
	}
	return out, notes
}

// mapSubjects rewrites the namespaces of a binding's subjects.
func mapSubjects(obj *unstructured.Unstructured, m map[string]string) {
	subjects, ok, _ := unstructured.NestedSlice(obj.Object, "subjects")
	if !ok {
		return
	}
	for _, s := range subjects {
		sm, _ := s.(map[string]any)
		if ns, _ := sm["namespace"].(string); m[ns] != "" {
			sm["namespace"] = m[ns]
		}
	}
	_ = unstructured.SetNestedSlice(obj.Object, subjects, "subjects") // a slice of maps always sets
}

// mentions lists the mapped namespaces a ConfigMap's data names in a
// service DNS name ("svc.OLD", "svc.OLD.svc.cluster.local").
func mentions(obj *unstructured.Unstructured, m map[string]string) []string {
	data, _, _ := unstructured.NestedStringMap(obj.Object, "data")
	var out []string
	for from := range m {
		for _, v := range data {
			if strings.Contains(v, "."+from+".svc") || strings.Contains(v, "."+from+":") {
				out = append(out, from)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// mappedFilter is f with its namespaces moved as the namespace map moves
// objects, for the target's side.
func mappedFilter(f canonical.Filter, m map[string]string) canonical.Filter {
	if len(m) == 0 {
		return f
	}
	mapAll := func(in []string) []string {
		out := make([]string, len(in))
		for i, ns := range in {
			out[i] = ns
			if to, ok := m[ns]; ok {
				out[i] = to
			}
		}
		return out
	}
	f.IncludeNamespaces = mapAll(f.IncludeNamespaces)
	f.ExcludeNamespaces = mapAll(f.ExcludeNamespaces)
	// What is moved away from a namespace is not restored there: its
	// live objects are out of scope (a clone must never prune its source).
	targets := map[string]bool{}
	for _, to := range m {
		targets[to] = true
	}
	for from := range m {
		if !targets[from] {
			f.ExcludeNamespaces = append(f.ExcludeNamespaces, from)
		}
	}
	return f
}
