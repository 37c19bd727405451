package kube

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var _ snapsync.DryRunner = (*Cluster)(nil)

// FieldManager is the manager kubesnap applies (and dry-runs) under.
const FieldManager = "kubesnap"

// DryRunApply asks the server what it would store if obj, of type t, were
// server-side applied under FieldManager, taking over fields others own
// (as kubectl diff --server-side and Flux's drift detection do). Nothing
// is changed. The object's own apiVersion is used when it is of t's group,
// so a file written in another served version is converted by the server.
func (c *Cluster) DryRunApply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvr := schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
	if gv, err := schema.ParseGroupVersion(obj.GetAPIVersion()); err == nil && gv.Group == t.Group && gv.Version != "" {
		gvr.Version = gv.Version
	}
	ri := c.dynamic.Resource(gvr)
	var out *unstructured.Unstructured
	var err error
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
	if t.Namespaced {
		out, err = ri.Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, opts)
	} else {
		out, err = ri.Apply(ctx, obj.GetName(), obj, opts)
	}
	if err != nil {
		return nil, c.dryRunError(err)
	}
	return out, nil
}

// dryRunError says in one line why the server refused a dry-run.
func (c *Cluster) dryRunError(err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden (a dry-run apply needs patch permission): %s", apierrors.ReasonForError(err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return fmt.Errorf("the server rejects the file: %s", firstLine(err.Error()))
	case strings.Contains(err.Error(), "webhook"):
		return fmt.Errorf("an admission webhook refused it: %s", firstLine(err.Error()))
	case apierrors.IsInternalError(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err):
		return fmt.Errorf("the server failed: %s", firstLine(err.Error()))
	}
	return c.unreachable(err)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
