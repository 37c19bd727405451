package kube

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/restore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// takeOver makes FieldManager the one owner of every field other managers
// set on the live object (as Flux's ssa does before a forced apply), so
// that the apply that follows removes what the revision does not hold: a
// label someone added, a key patched in. Entries of subresources (status,
// scale) stay, and so do the fields the rules that select the live object
// or obj (what is applied) remove (their managers keep them, and the apply
// leaves them). Nothing happens for an absent object, or one kubesnap alone
// manages; the patch checks the resourceVersion it read.
func takeOver(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured, rules canonical.Rules) error {
	live, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept []metav1.ManagedFieldsEntry
	owned := &fieldpath.Set{}
	others := false
	for _, e := range live.GetManagedFields() {
		if e.Subresource != "" {
			kept = append(kept, e)
			continue
		}
		if e.Manager != restore.FieldManager || e.Operation != metav1.ManagedFieldsOperationApply {
			others = true
		}
		if e.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			return fmt.Errorf("read the fields %s owns: %w", e.Manager, err)
		}
		owned = owned.Union(s)
	}
	ignored := rules.Matching(live, obj).Ignored(live, owned)
	if !others && ignored.Empty() {
		return nil
	}
	if !ignored.Empty() {
		owned = owned.Difference(ignored)
		if kept, err = keepIgnored(live.GetManagedFields(), ignored, kept); err != nil {
			return err
		}
	}
	raw, err := owned.ToJSON()
	if err != nil {
		return err
	}
	now := metav1.Now()
	kept = append(kept, metav1.ManagedFieldsEntry{
		Manager: restore.FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		APIVersion: live.GetAPIVersion(), Time: &now,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw)),
	})
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": kept},
	})
	if err != nil {
		return err
	}
	_, err = r.Patch(ctx, obj.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{})
	return err
}

// keepIgnored appends to kept, for every manager but kubesnap that owns
// some of the ignored fields, an entry owning just those: its ownership
// is what manager rules read, and the next snapshot must still see it.
func keepIgnored(entries []metav1.ManagedFieldsEntry, ignored *fieldpath.Set, kept []metav1.ManagedFieldsEntry) ([]metav1.ManagedFieldsEntry, error) {
	for _, e := range entries {
		if e.Subresource != "" || e.FieldsV1 == nil || e.Manager == restore.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			return nil, fmt.Errorf("read the fields %s owns: %w", e.Manager, err)
		}
		mine := s.Intersection(ignored)
		if mine.Empty() {
			continue
		}
		raw, err := mine.ToJSON()
		if err != nil {
			return nil, err
		}
		e.FieldsV1 = metav1.NewFieldsV1(string(raw))
		kept = append(kept, e)
	}
	return kept, nil
}
