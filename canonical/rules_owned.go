package canonical

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Ignored returns the members of owned (a field set of live, such as the
// union a forced restore takes over) that lie at or below a field the rules
// remove from live: the fields a restore must leave to their managers, so
// that applying an object without them never clears them. owned is not
// changed; the result is empty when no rule matches live.
func (rs Rules) Ignored(live *unstructured.Unstructured, owned *fieldpath.Set) *fieldpath.Set {
	out := &fieldpath.Set{}
	if len(rs) == 0 || owned == nil || live == nil || live.Object == nil {
		return out
	}
	var removed []FieldPath
	for _, a := range rs.Apply(live.DeepCopy()) {
		for _, r := range a.Removed {
			removed = append(removed, r.FieldPath)
		}
	}
	if len(removed) == 0 {
		return out
	}
	owned.Iterate(func(p fieldpath.Path) {
		concrete, ok := concretePath(live.Object, p)
		if !ok {
			return
		}
		for _, r := range removed {
			if hasPrefix(concrete, r.steps) {
				out.Insert(p.Copy())
				return
			}
		}
	})
	return out
}

// concretePath turns a field set's path into keys and indexes in obj; ok
// is false where obj does not hold it.
func concretePath(obj map[string]any, p fieldpath.Path) ([]step, bool) {
	var v any = obj
	steps := make([]step, 0, len(p))
	for _, pe := range p {
		switch c := v.(type) {
		case map[string]any:
			if pe.FieldName == nil {
				return nil, false
			}
			next, ok := c[*pe.FieldName]
			if !ok {
				return nil, false
			}
			steps = append(steps, step{kind: stepKey, key: *pe.FieldName})
			v = next
		case []any:
			i := findItem(c, pe)
			if i < 0 {
				return nil, false
			}
			steps = append(steps, step{kind: stepIndex, index: i})
			v = c[i]
		default:
			return nil, false
		}
	}
	return steps, true
}

// hasPrefix says concrete path p lies at or below concrete path prefix.
func hasPrefix(p, prefix []step) bool {
	if len(prefix) > len(p) {
		return false
	}
	for i, s := range prefix {
		q := p[i]
		switch {
		case s.kind == stepIndex && q.kind == stepIndex && s.index == q.index:
		case s.kind != stepIndex && q.kind != stepIndex && s.key == q.key:
		default:
			return false
		}
	}
	return true
}
