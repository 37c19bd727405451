package kube

import (
	"context"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/restore"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Apply server-side applies obj, of type t, under restore.FieldManager.
// The object's own apiVersion is used when it is of t's group, so a file
// written in another served version is converted by the server. force
// takes over fields other managers own; dryRun stores nothing. A refusal
// is one line saying why and what to do; an immutable field that differs
// wraps restore.ErrImmutable. The error does not name obj: callers do.
func (tg *Target) Apply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured, force, dryRun bool) error {
	_, err := tg.apply(ctx, t, obj, force, dryRun)
	return err
}

// DryRun returns what the server would store if obj, of type t, were
// applied with force; nothing is stored. Its refusals are Apply's.
func (tg *Target) DryRun(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return tg.apply(ctx, t, obj, true, true)
}

func (tg *Target) apply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, error) {
	ns, err := namespaceOf(t, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: restore.FieldManager, Force: force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	r := tg.resource(t, ns, obj.GetAPIVersion())
	if force && !dryRun {
		if err := takeOver(ctx, r, obj, tg.Rules); err != nil {
			return nil, tg.refusal(t, ns, err)
		}
	}
	out, err := r.Apply(ctx, obj.GetName(), obj, opts)
	if err != nil {
		return nil, tg.refusal(t, ns, err)
	}
	return out, nil
}
