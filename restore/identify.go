package restore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindType is what a restore knows of a group and kind.
type kindType struct {
	resource   string
	namespaced bool
}

var crdKind = schema.GroupKind{Group: canonical.CRDGroup, Kind: canonical.CRDKind}

// identify gives each built object its identity and path.
func identify(ctx context.Context, built []*unstructured.Unstructured, objs []Object, d Discovery) ([]Object, error) {
	known := map[string]kindType{} // "group/Kind"
	for _, o := range objs {
		key := o.ID.Group + "/" + o.Obj.GetKind()
		k := known[key]
		known[key] = kindType{resource: o.ID.Resource, namespaced: k.namespaced || o.ID.Namespace != ""}
	}
	for _, obj := range built {
		if obj.GroupVersionKind().GroupKind() != crdKind {
			continue
		}
		if t, ok := crdType(obj); ok {
			if _, held := known[t.Group+"/"+t.Kind]; !held {
				known[t.Group+"/"+t.Kind] = kindType{resource: t.Resource, namespaced: t.Namespaced}
			}
		}
	}
	discovered := false
	out := make([]Object, 0, len(built))
	paths := map[string]bool{}
	for _, obj := range built {
		gvk := obj.GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" || obj.GetName() == "" {
			return nil, fmt.Errorf("kustomize built an object without kind, apiVersion or metadata.name (%s %s)", obj.GetAPIVersion(), obj.GetName())
		}
		key := gvk.Group + "/" + gvk.Kind
		k, ok := known[key]
		if !ok && d != nil && !discovered {
			discovered = true
			served, _, err := d.Served(ctx)
			if err != nil {
				return nil, fmt.Errorf("find the resource of %s %s: %w", obj.GetAPIVersion(), gvk.Kind, err)
			}
			for _, t := range served {
				if _, held := known[t.Group+"/"+t.Kind]; !held && t.Kind != "" {
					known[t.Group+"/"+t.Kind] = kindType{resource: t.Resource, namespaced: t.Namespaced}
				}
			}
			k, ok = known[key]
		}
		if !ok {
			return nil, fmt.Errorf("kustomize built a %s (%s), a kind neither the revision nor the target knows: install its CustomResourceDefinition first, or add it to the kustomization", gvk.Kind, obj.GetAPIVersion())
		}
		id := canonical.ID{Group: gvk.Group, Resource: k.resource, Namespace: obj.GetNamespace(), Name: obj.GetName()}
		switch {
		case k.namespaced && id.Namespace == "":
			return nil, fmt.Errorf("kustomize built %s %s without a namespace: set namespace: in the kustomization or in the object", gvk.Kind, id.Name)
		case !k.namespaced && id.Namespace != "":
			id.Namespace = ""
			unstructured.RemoveNestedField(obj.Object, "metadata", "namespace")
		}
		p := canonical.PathOf(id)
		if paths[p] {
			return nil, fmt.Errorf("kustomize built %s twice", id)
		}
		paths[p] = true
		out = append(out, Object{ID: id, Path: p, Obj: obj})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// oneLine puts a message of several lines on one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.TrimSpace(s)), " ")
}
