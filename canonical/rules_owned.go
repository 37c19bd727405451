package canonical

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Matching returns the rules of rs that select any of objs, in order, with
// their match cleared so that they act on every object they are applied
// to. A restore compares and applies a revision's object against the live
// one: a rule that selects either (one of them may have lost a label the
// rule's selector reads) must act on both, or one side keeps a field the
// other drops.
func (rs Rules) Matching(objs ...*unstructured.Unstructured) Rules {
	var out Rules
	for _, r := range rs {
		for _, o := range objs {
			if o != nil && o.Object != nil && r.Match.matches(targetOf(o)) {
				r.Match = Match{}
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Ignored returns the members of owned (a field set of live, such as the
// union a forced restore takes over) that the rules remove from live: the
// fields a restore must leave to their managers, so that applying an
// object without them never clears them. A member is ignored when live
// holds it and live with the rules applied does not; list items are found
// by their keys on both sides, so items a rule removed before do not shift
// the others. owned is not changed; the result is empty when no rule
// removes anything.
func (rs Rules) Ignored(live *unstructured.Unstructured, owned *fieldpath.Set) *fieldpath.Set {
	out := &fieldpath.Set{}
	if len(rs) == 0 || owned == nil || live == nil || live.Object == nil {
		return out
	}
	after := live.DeepCopy()
	removed := false
	for _, a := range rs.Apply(after) {
		removed = removed || len(a.Removed) > 0
	}
	if !removed {
		return out
	}
	owned.Iterate(func(p fieldpath.Path) {
		if holds(live.Object, p) && !holds(after.Object, p) {
			out.Insert(p.Copy())
		}
	})
	return out
}

// holds says obj has the field a field set's path names.
func holds(obj map[string]any, p fieldpath.Path) bool {
	var v any = obj
	for _, pe := range p {
		switch c := v.(type) {
		case map[string]any:
			if pe.FieldName == nil {
				return false
			}
			next, ok := c[*pe.FieldName]
			if !ok {
				return false
			}
			v = next
		case []any:
			i := findItem(c, pe)
			if i < 0 {
				return false
			}
			v = c[i]
		default:
			return false
		}
	}
	return true
}
