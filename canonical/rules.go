package canonical

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Rules are the user's normalization rules (the normalize: section of the
// configuration file), in the order they are written. Normalize applies
// them before anything else, so that fields a controller keeps rewriting
// never reach git nor make drift. The zero Rules do nothing, at no cost.
//
// Rules come from DecodeRules or ParseRules, which check every field; rules
// built in Go are not checked, and a malformed glob in them matches
// nothing.
type Rules []Rule

// Rule removes fields from the objects its Match selects: those named by
// IgnoreFields, and those owned by the field managers IgnoreManagers names.
type Rule struct {
	// Name is shown by explain; it is optional, and unique when given.
	Name  string
	Match Match
	// IgnoreFields are removed wherever they are in a matched object.
	IgnoreFields []FieldPath
	// IgnoreManagers are globs (path.Match) over field manager names:
	// the fields those managers own, as metadata.managedFields says, are
	// removed. A field owned by one of them is removed even when another
	// manager owns it too, as Argo CD's managedFieldsManagers does.
	IgnoreManagers []string
}

// Match selects objects. Its zero value selects every object; each field
// that is set narrows it.
type Match struct {
	// Group is a glob over API groups; "" matches every group, and
	// "core" the core group (whose name is empty).
	Group string
	// Kind is a glob over kinds; "" matches every kind.
	Kind string
	// Namespaces are globs; when set, cluster-scoped objects never match.
	Namespaces []string
	// Names are globs over object names.
	Names []string
	// Selector selects objects by their labels; nil selects all.
	Selector labels.Selector
}

// Applied is what one rule did to one object, for explain.
type Applied struct {
	// Rule is the rule's index in its Rules, Name its name.
	Rule int    `json:"rule"`
	Name string `json:"name,omitempty"`
	// Removed lists the fields removed, in the order they went. Each path
	// is concrete (keys and indexes, no [*]) and names the field as it was
	// when the rule ran. Empty when the rule matched but found nothing.
	Removed []Removal `json:"removed,omitempty"`
}

// Removal is one field a rule removed, and why.
type Removal struct {
	FieldPath FieldPath `json:"field"`
	// Field is the IgnoreFields entry that matched, or "".
	Field string `json:"ignoreFields,omitempty"`
	// Managers are the ignored managers that owned the field (manager
	// rules), sorted.
	Managers []string `json:"managers,omitempty"`
}

// Label names the rule at index i as errors and explain do:
// "normalize[2]" or "normalize[2] (hpa-owns-replicas)".
func (r Rule) Label(i int) string {
	if r.Name == "" {
		return fmt.Sprintf("normalize[%d]", i)
	}
	return fmt.Sprintf("normalize[%d] (%s)", i, r.Name)
}

// String describes what a rule did, one removed field a line:
//
//	normalize[0] (hpa-owns-replicas) removed:
//	  spec.replicas  (ignoreFields spec.replicas)
func (a Applied) String() string {
	var b strings.Builder
	b.WriteString(Rule{Name: a.Name}.Label(a.Rule))
	if len(a.Removed) == 0 {
		b.WriteString(" matched and removed nothing\n")
		return b.String()
	}
	b.WriteString(" removed:\n")
	for _, r := range a.Removed {
		fmt.Fprintf(&b, "  %s  ", r.FieldPath)
		if r.Field != "" {
			fmt.Fprintf(&b, "(ignoreFields %s)\n", r.Field)
		} else {
			fmt.Fprintf(&b, "(owned by %s)\n", strings.Join(r.Managers, ", "))
		}
	}
	return b.String()
}

// Apply removes from obj, in place, the fields each matching rule names,
// rule after rule, and returns what every matching rule did (rules that do
// not match obj are left out). It reads metadata.managedFields, so it must
// run before that is dropped. It never removes apiVersion, kind,
// metadata.name or metadata.namespace, and never fails: fields of an
// unexpected shape are left as they are. Applying the same rules again
// removes nothing more.
func (rs Rules) Apply(obj *unstructured.Unstructured) []Applied {
	if len(rs) == 0 || obj.Object == nil {
		return nil
	}
	t := targetOf(obj)
	var out []Applied
	var rm remover // one for all rules: its path buffer is reused
	for i, r := range rs {
		if !r.Match.matches(t) {
			continue
		}
		rm.removed = nil
		for _, p := range r.IgnoreFields {
			if len(p.steps) == 0 || p.removesIdentity() {
				continue
			}
			rm.field, rm.fieldStr = p, ""
			rm.removePath(obj.Object, p.steps)
		}
		if len(r.IgnoreManagers) > 0 {
			rm.field, rm.fieldStr = FieldPath{}, ""
			rm.removeManaged(obj.Object, r.IgnoreManagers)
		}
		out = append(out, Applied{Rule: i, Name: r.Name, Removed: rm.removed})
	}
	return out
}

// target is what matching reads of an object, read once for all rules.
type target struct {
	group, kind, namespace, name string
	labels                       rawLabels
}

func targetOf(obj *unstructured.Unstructured) target {
	apiVersion, _ := obj.Object["apiVersion"].(string)
	gv, _ := schema.ParseGroupVersion(apiVersion)
	t := target{group: gv.Group}
	t.kind, _ = obj.Object["kind"].(string)
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		t.namespace, _ = meta["namespace"].(string)
		t.name, _ = meta["name"].(string)
		t.labels, _ = meta["labels"].(map[string]any)
	}
	return t
}

func (m Match) matches(t target) bool {
	switch m.Group {
	case "":
	case "core":
		if t.group != "" {
			return false
		}
	default:
		if !glob(m.Group, t.group) {
			return false
		}
	}
	if m.Kind != "" && !glob(m.Kind, t.kind) {
		return false
	}
	if len(m.Namespaces) > 0 && (t.namespace == "" || !anyGlob(m.Namespaces, t.namespace)) {
		return false
	}
	if len(m.Names) > 0 && !anyGlob(m.Names, t.name) {
		return false
	}
	return m.Selector == nil || m.Selector.Matches(t.labels)
}

// glob reports whether s matches the path.Match pattern; a pattern without
// meta characters is compared as it is, which is most of them.
func glob(pattern, s string) bool {
	literal := true
	for i := 0; i < len(pattern) && literal; i++ {
		switch pattern[i] {
		case '*', '?', '[', '\\':
			literal = false
		}
	}
	if literal {
		return pattern == s
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// rawLabels reads an object's labels in place, as labels.Labels.
type rawLabels map[string]any

func (l rawLabels) Has(k string) bool {
	_, ok := l[k]
	return ok
}

func (l rawLabels) Get(k string) string {
	s, _ := l[k].(string)
	return s
}

func (l rawLabels) Lookup(k string) (string, bool) {
	v, ok := l[k]
	s, _ := v.(string)
	return s, ok
}

// String describes the objects m selects, e.g. "apps Deployment in
// namespace shop named web-* labelled app=web".
func (m Match) String() string {
	var b strings.Builder
	switch {
	case m.Group == "" && m.Kind == "":
		b.WriteString("every object")
	case m.Group == "":
		b.WriteString(m.Kind + " of any group")
	case m.Kind == "":
		b.WriteString("every kind of group " + m.Group)
	default:
		b.WriteString(m.Group + " " + m.Kind)
	}
	if len(m.Namespaces) > 0 {
		b.WriteString(" in namespace " + strings.Join(m.Namespaces, ", "))
	}
	if len(m.Names) > 0 {
		b.WriteString(" named " + strings.Join(m.Names, ", "))
	}
	if m.Selector != nil {
		b.WriteString(" labelled " + m.Selector.String())
	}
	return b.String()
}
