package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// crdType is the resource type a CustomResourceDefinition defines, in its
// storage version.
func crdType(crd *unstructured.Unstructured) (canonical.Type, bool) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var version string
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if s, _ := m["storage"].(bool); s {
			version, _ = m["name"].(string)
		}
	}
	if group == "" || plural == "" || version == "" {
		return canonical.Type{}, false
	}
	return canonical.Type{Group: group, Version: version, Resource: plural, Kind: kind, Namespaced: scope == "Namespaced"}, true
}

// versionWarning warns when the target runs another minor version than
// the revision was taken from.
func versionWarning(from, to string) string {
	if from == "" || to == "" {
		return ""
	}
	if minor(from) != minor(to) {
		return fmt.Sprintf("the revision was taken from Kubernetes %s and the target runs %s: objects of API versions the target does not serve are skipped", from, to)
	}
	return ""
}

// minor is "v1.37" of "v1.37.2".
func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// unservedVersions skips objects stored in another version than the one
// the target prefers, when the target does not serve that version at all
// (a revision from an older Kubernetes): a dry-run says, so that they are
// "skip (why)" in the plan and never fail mid-apply.
func unservedVersions(ctx context.Context, target Target, plan *Plan, pending map[string]canonical.Type) error {
	for i := range plan.Items {
		it := &plan.Items[i]
		if it.Action != "" || pending[it.ID().ResourceDir()].Resource != "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(it.obj.GetAPIVersion())
		if err != nil || gv.Version == it.t.Version {
			continue
		}
		if _, err := target.DryRun(ctx, it.t, it.obj); errors.Is(err, ErrNotServed) {
			it.Action, it.Reason = Skip, fmt.Sprintf("the target does not serve %s (it serves %s/%s)", it.obj.GetAPIVersion(), it.t.Group, it.t.Version)
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
