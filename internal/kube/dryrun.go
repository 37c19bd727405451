package kube

import (
	"context"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
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
	var r dynamic.ResourceInterface = c.dynamic.Resource(gvr)
	if t.Namespaced {
		r = c.dynamic.Resource(gvr).Namespace(obj.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
	out, err := r.Apply(ctx, obj.GetName(), obj, opts)
	if err != nil {
		return nil, c.dryRunError(t, err)
	}
	// Which fields a user set (a Service's nodePort) is read from
	// managedFields when normalizing: give the answer the live object's
	// owners, not the dry-run's, where kubesnap now owns what the file
	// holds, so that both sides are normalized alike.
	live, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case err == nil:
		out.SetManagedFields(live.GetManagedFields())
	case !apierrors.IsNotFound(err):
		return nil, c.unreachable(err)
	}
	return out, nil
}

// refusal is a dry-run the server refused for this object; its message
// says why in one line.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return snapsync.ErrDryRunRefused }

// dryRunError tells a refusal of the object (a webhook, validation, RBAC,
// an unserved version) from a server that failed or could not be reached.
// The server's message is left out for Secrets: it may quote values.
func (c *Cluster) dryRunError(t canonical.Type, err error) error {
	msg := firstLine(err.Error())
	if t.Group == "" && t.Resource == "secrets" {
		msg = string(apierrors.ReasonForError(err)) + " (details hidden for a Secret)"
	}
	switch {
	case strings.Contains(err.Error(), "webhook"):
		return refusal{"an admission webhook refused it: " + msg}
	case apierrors.IsForbidden(err):
		return refusal{"forbidden (a dry-run apply needs patch permission): " + msg}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsNotFound(err), apierrors.IsConflict(err), apierrors.IsMethodNotSupported(err):
		return refusal{"the server rejects the file: " + msg}
	}
	return c.unreachable(err)
}
