package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// compareLive lists every served type in scope and returns the canonical
// bytes of each live object the revision holds (by path). Live objects
// the revision does not hold (held: in any form) inside the prune scope
// become Prune items (with opts.Prune) or are counted in plan.Unpruned;
// those never pruned become Keep items with the reason (with opts.Prune).
//
// The prune scope is the intersection of what the snapshot captured
// (opts.Scope: its types and filters, moved by the namespace map) and the
// restore's own filters: a type the snapshot did not capture, or a
// namespace or label outside its filters, tells nothing about whether a
// live object belongs, so nothing there is pruned.
func compareLive(ctx context.Context, enc *canonical.Encoder, target Target, types []canonical.Type, desired map[string]*Item, held map[string]bool, opts Options, plan *Plan) (live map[string][]byte, prunes []Item, err error) {
	live = map[string][]byte{}
	scope := mappedFilter(opts.Filter, opts.NamespaceMap)
	snap := mappedFilter(opts.Scope.Filter, opts.NamespaceMap)
	plan.PruneScope = pruneScope(opts)
	wanted := map[string]bool{} // resource dirs the revision holds objects of
	for path := range held {
		if id, err := canonical.ParsePath(path); err == nil {
			wanted[id.ResourceDir()] = true
		}
	}
	var crds []*unstructured.Unstructured // live CRDs to prune
	for _, t := range types {
		if _, ok := canonical.Capturable(t); !ok {
			continue
		}
		prunable := opts.Scope.Recorded && opts.Scope.Captured(t) && scope.Type(t) && snap.Type(t)
		if !prunable && !wanted[t.ResourceDir()] {
			continue // nothing to compare, nothing to prune
		}
		err := target.Each(ctx, t, "", func(obj *unstructured.Unstructured) error {
			id := t.ID(obj.GetNamespace(), obj.GetName())
			path := canonical.PathOf(id)
			if it, ok := desired[path]; ok {
				it.rules = opts.Rules.Matching(obj, it.obj)
				ignoreLive(it.obj, obj, it.rules)
				canonical.Normalize(obj, it.facts())
				data, err := enc.Marshal(obj)
				if err != nil {
					return fmt.Errorf("marshal live %s: %w", id, err)
				}
				it.t = t
				live[path] = data
				return nil
			}
			if held[path] || !prunable || !scope.ID(id) || !scope.Labels(obj.GetLabels()) || !snap.ID(id) || !snap.Labels(obj.GetLabels()) {
				return nil
			}
			item := Item{Group: id.Group, Resource: id.Resource, Namespace: id.Namespace, Name: id.Name, Path: path, Phase: PhaseOf(id), t: t}
			why, never := neverPruned(t, obj)
			if _, skip := canonical.SkipObject(obj); skip && !never {
				return nil // never captured: its absence says nothing
			}
			if !never && id.ResourceDir() == canonical.CRDDir {
				why, never = crdKept(obj, opts.PruneCRDs, wanted)
			}
			switch {
			case never && opts.Prune:
				item.Action, item.Reason = Keep, why
				prunes = append(prunes, item)
			case never:
			case !opts.Prune:
				plan.Unpruned++
			default:
				item.Action = Prune
				prunes = append(prunes, item)
				if id.ResourceDir() == canonical.CRDDir {
					crds = append(crds, obj)
				}
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("list %s on the target: %w", t.ResourceDir(), err)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	gone, err := customResources(ctx, target, crds, prunes)
	if err != nil {
		return nil, nil, err
	}
	return live, append(prunes, gone...), nil
}

// crdKept says why a live CRD the revision does not hold stays: its
// deletion deletes every custom resource of its type, so only
// --prune-crds deletes it, and never while the revision holds objects of
// its type.
func crdKept(crd *unstructured.Unstructured, pruneCRDs bool, wanted map[string]bool) (string, bool) {
	if !pruneCRDs {
		return "never pruned without --prune-crds: deleting a CRD deletes every object of its type", true
	}
	if t, ok := crdType(crd); ok && wanted[t.ResourceDir()] {
		return "the revision holds objects of its type", true
	}
	return "", false
}

// customResources lists the live objects of the types the pruned CRDs
// define, as Prune items (the CRD's deletion deletes them; listing them
// says so, and the report counts them), except those already in prunes.
func customResources(ctx context.Context, target Target, crds []*unstructured.Unstructured, prunes []Item) ([]Item, error) {
	listed := map[string]bool{}
	for _, it := range prunes {
		listed[it.Path] = true
	}
	var out []Item
	for _, crd := range crds {
		t, ok := crdType(crd)
		if !ok {
			continue
		}
		err := target.Each(ctx, t, "", func(obj *unstructured.Unstructured) error {
			id := t.ID(obj.GetNamespace(), obj.GetName())
			path := canonical.PathOf(id)
			if listed[path] {
				return nil
			}
			listed[path] = true
			out = append(out, Item{Group: id.Group, Resource: id.Resource, Namespace: id.Namespace, Name: id.Name, Path: path, Phase: PhaseOf(id), t: t,
				Action: Prune, Reason: "deleted with its CustomResourceDefinition " + crd.GetName()})
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotServed) {
			return nil, fmt.Errorf("list %s on the target: %w", t.ResourceDir(), err)
		}
	}
	return out, nil
}

// pruneScope says, for the plan, where --prune deletes.
func pruneScope(opts Options) string {
	if !opts.Scope.Recorded {
		return "none: the revision does not record its snapshot's scope"
	}
	s := "the snapshot's scope (" + opts.Scope.String() + ")"
	if f := opts.Filter; len(f.IncludeNamespaces)+len(f.ExcludeNamespaces)+len(f.IncludeResources)+len(f.ExcludeResources) > 0 || f.Selector != nil {
		s += " within this restore's filters"
	}
	return s
}
