package kube

import (
	"context"

	"github.com/kubesnap/kubesnap/canonical"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Delete deletes one object with background propagation (the garbage
// collector removes its dependents after it) and returns once the server
// accepted. An absent object is not an error; dryRun deletes nothing.
func (tg *Target) Delete(ctx context.Context, t canonical.Type, namespace, name string, dryRun bool) error {
	ns, err := namespaceOf(t, namespace)
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	err = tg.resource(t, ns, "").Delete(ctx, name, opts)
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return tg.refusal(t, ns, err)
}
