package canonical

import (
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// ownedTree is one managedFields entry's FieldsV1 set, or the part of it
// below some field: a map from serialized path elements ("f:name",
// `k:{"name":"web"}`, `v:"x"`, "i:0") to their own sets, where the key "."
// (or an empty set) says the field itself is owned.
type ownedTree struct {
	manager string
	fields  map[string]any
}

// removeManaged removes the fields that managers matching patterns own in
// obj, reading obj's metadata.managedFields.
//
// The algorithm walks the union of the ignored managers' FieldsV1 sets
// over the object, with the other managers' sets alongside:
//
//	for each element e the ignored managers own or descend into:
//	    find e's value in the object (a key, a list item by its key
//	    fields, a set item by its value, an index); absent → skip
//	    if they own e itself and no other manager owns anything inside e:
//	        remove e whole (with the defaults the server filled into it)
//	    else descend; remove e if that left it empty
//
// A field an ignored manager owns is removed even when another manager
// owns it too, as Argo CD's managedFieldsManagers does (its Normalize
// removes every field in a trusted manager's set). The key fields of a
// list item go only with the item, so an item that stays keeps its
// identity. Status is not walked: Normalize drops it anyway.
func (r *remover) removeManaged(obj map[string]any, patterns []string) {
	meta, _ := obj["metadata"].(map[string]any)
	entries, _ := meta["managedFields"].([]any)
	mine := make([]ownedTree, 0, len(entries))
	others := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		m, _ := e.(map[string]any)
		fields, _ := m["fieldsV1"].(map[string]any)
		if fields == nil {
			continue
		}
		if name, _ := m["manager"].(string); anyGlob(patterns, name) {
			mine = append(mine, ownedTree{manager: name, fields: fields})
		} else {
			others = append(others, fields)
		}
	}
	if len(mine) > 0 {
		r.removeOwned(obj, mine, others, nil)
	}
}

// removeOwned removes from v what the trees in mine own below it, and
// returns v (a list shrinks) and whether anything went. keys are the key
// fields of v when v is a list item found by them.
func (r *remover) removeOwned(v any, mine []ownedTree, others []map[string]any, keys *value.FieldList) (any, bool) {
	// Resolve the elements first, and visit (and report) them in order:
	// list items as the list holds them, fields by name.
	n := 0
	for _, t := range mine {
		n += len(t.fields)
	}
	targets := make([]ownedElem, 0, n)
	for ti, t := range mine {
	elems:
		for elem := range t.fields {
			if elem == "." || len(r.cur) == 0 && elem == "f:status" {
				continue
			}
			for _, u := range mine[:ti] {
				if _, seen := u.fields[elem]; seen {
					continue elems
				}
			}
			targets = resolveOwned(targets, v, elem, keys)
		}
	}
	slices.SortFunc(targets, func(a, b ownedElem) int {
		if a.index != b.index {
			return a.index - b.index
		}
		return strings.Compare(a.field, b.field)
	})

	removedAny := false
	var drop []int
	subMine := make([]ownedTree, 0, len(mine))
	subOthers := make([]map[string]any, 0, len(others))
	owners := make([]string, 0, len(mine))
	for _, tg := range targets {
		var child any
		if tg.index >= 0 {
			child = v.([]any)[tg.index]
			r.cur = append(r.cur, step{kind: stepIndex, index: tg.index})
		} else {
			child = v.(map[string]any)[tg.field]
			r.cur = append(r.cur, step{kind: stepKey, key: tg.field})
		}

		// The buffers serve one target after the other: the recursion
		// below is done with them before the next.
		subMine, subOthers, owners = subMine[:0], subOthers[:0], owners[:0]
		deeper := false
		for _, t := range mine {
			sub, ok := t.fields[tg.elem].(map[string]any)
			if !ok {
				continue
			}
			subMine = append(subMine, ownedTree{manager: t.manager, fields: sub})
			if _, self := sub["."]; self || len(sub) == 0 {
				owners = append(owners, t.manager)
			}
			deeper = deeper || hasChildren(sub)
		}
		othersInside := false
		for _, o := range others {
			if sub, ok := o[tg.elem].(map[string]any); ok {
				subOthers = append(subOthers, sub)
				othersInside = othersInside || hasChildren(sub)
			}
		}

		remove := false
		switch {
		case len(owners) > 0 && !othersInside:
			remove = !isIdentity(r.cur)
			if remove {
				names := slices.Clone(owners)
				sort.Strings(names)
				r.record(slices.Compact(names))
			}
		case deeper:
			newChild, removed := r.removeOwned(child, subMine, subOthers, tg.key)
			if removed {
				removedAny = true
				remove = isEmpty(newChild) && !isIdentity(r.cur)
				if !remove {
					if tg.index >= 0 {
						v.([]any)[tg.index] = newChild
					} else {
						v.(map[string]any)[tg.field] = newChild
					}
				}
			}
		}
		if remove {
			removedAny = true
			if tg.index >= 0 {
				drop = append(drop, tg.index)
			} else {
				delete(v.(map[string]any), tg.field)
			}
		}
		r.cur = r.cur[:len(r.cur)-1]
	}
	if len(drop) > 0 {
		return deleteIndexes(v.([]any), slices.Compact(drop)), true
	}
	return v, removedAny
}

// ownedElem is one element of a FieldsV1 set found in the object.
type ownedElem struct {
	elem  string           // as FieldsV1 writes it
	field string           // in a map
	key   *value.FieldList // the key fields of a list item found by them
	index int              // in a list, or -1 in a map
}

// resolveOwned appends to targets the element elem of v, if v holds it. keys
// are the key fields of v when v is a list item: they go only with it.
func resolveOwned(targets []ownedElem, v any, elem string, keys *value.FieldList) []ownedElem {
	switch c := v.(type) {
	case map[string]any:
		// Fields are most of FieldsV1: read them without the parser,
		// which allocates.
		name, ok := strings.CutPrefix(elem, "f:")
		if !ok || keys != nil && isKeyField(*keys, name) {
			return targets
		}
		if _, ok := c[name]; ok {
			targets = append(targets, ownedElem{elem: elem, field: name, index: -1})
		}
	case []any:
		pe, err := fieldpath.DeserializePathElement(elem)
		if err != nil {
			return targets // a form this version does not know
		}
		if i := findItem(c, pe); i >= 0 {
			targets = append(targets, ownedElem{elem: elem, key: pe.Key, index: i})
		}
	}
	return targets
}

// hasChildren reports whether a FieldsV1 set owns something below its
// field, not only the field itself.
func hasChildren(set map[string]any) bool {
	for k := range set {
		if k != "." {
			return true
		}
	}
	return false
}

func isKeyField(keys value.FieldList, name string) bool {
	for _, f := range keys {
		if f.Name == name {
			return true
		}
	}
	return false
}

// findItem returns the index of the list item pe names, or -1.
func findItem(list []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Key != nil:
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			match := true
			for _, f := range *pe.Key {
				v, ok := m[f.Name]
				if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
					match = false
					break
				}
			}
			if match {
				return i
			}
		}
	case pe.Value != nil:
		for i, item := range list {
			if value.Equals(value.NewValueInterface(item), *pe.Value) {
				return i
			}
		}
	case pe.Index != nil:
		if *pe.Index >= 0 && *pe.Index < len(list) {
			return *pe.Index
		}
	}
	return -1
}
