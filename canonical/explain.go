package canonical

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Explanation says what the rules did to one object: `kubesnap rules
// --explain`. What the rules removed is named by its path, never shown;
// Result is the stored form, so a Secret's values are redacted there as
// they are in git (unless f keeps them).
type Explanation struct {
	// Skipped is why the object is left out by default ("" when it is
	// kept); the other fields are then empty.
	Skipped string `json:"skipped,omitempty"`
	// User is what each matching user rule did, in order.
	User []Applied `json:"user,omitempty"`
	// BuiltIn is what the built-in normalization then removed or
	// rewrote, one field a change, each named with the built-in rule
	// (DefaultRules) that does it.
	BuiltIn []BuiltInChange `json:"builtIn,omitempty"`
	// Result is the object as kubesnap stores it, canonical YAML.
	Result string `json:"result,omitempty"`
}

// BuiltInChange is one field the built-in normalization removed or changed.
type BuiltInChange struct {
	Rule   string `json:"rule"`
	Field  string `json:"field"`
	Change string `json:"change"` // "removed" or "changed"
}

// Explain normalizes a copy of obj with f, as a snapshot does, and says
// which rules touched it and what they removed. obj is not changed; it
// should be the object as the API server returns it (managedFields
// included), for manager rules to act.
func Explain(obj *unstructured.Unstructured, f Facts) (Explanation, error) {
	var ex Explanation
	if reason, skip := SkipObject(obj); skip {
		ex.Skipped = reason
		return ex, nil
	}
	c := obj.DeepCopy()
	ex.User = f.Rules.Apply(c)
	before := c.DeepCopy()
	f.Rules = nil
	Normalize(c, f)
	cmp := comparer{kind: obj.GetKind(), rules: DefaultRules()}
	cmp.compare(before.Object, c.Object, nil)
	ex.BuiltIn = cmp.out
	data, err := Marshal(c)
	if err != nil {
		return ex, err
	}
	ex.Result = string(data)
	return ex, nil
}

// comparer lists what the built-in normalization did to an object of
// kind, naming the rule that did each.
type comparer struct {
	kind  string
	rules []DescribedRule
	out   []BuiltInChange
}

// compare appends every field of a that b lacks (removed) or holds
// otherwise (changed), at the highest level where it differs; a map that
// went because other rules emptied it is listed by what they removed.
func (c *comparer) compare(a, b any, path []step) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			c.add(path, a, "changed")
			return
		}
		keys := make([]string, 0, len(av))
		for k := range av {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(path[:len(path):len(path)], step{kind: stepKey, key: k})
			bk, ok := bv[k]
			if !ok {
				c.removed(p, av[k])
				continue
			}
			c.compare(av[k], bk, p)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(bv) != len(av) {
			c.add(path, a, "changed")
			return
		}
		for i := range av {
			c.compare(av[i], bv[i], append(path[:len(path):len(path)], step{kind: stepIndex, index: i}))
		}
	default:
		if !reflect.DeepEqual(a, b) {
			c.add(path, a, "changed")
		}
	}
}

func (c *comparer) removed(path []step, v any) {
	d := c.rule(path, v)
	if m, ok := v.(map[string]any); ok && len(m) > 0 && d != nil && d.When == "when empty" {
		c.compare(v, map[string]any{}, path) // emptied by other rules
		return
	}
	c.add(path, v, "removed")
}

func (c *comparer) add(path []step, v any, change string) {
	name := "normalize"
	if d := c.rule(path, v); d != nil {
		name = d.Name
	}
	c.out = append(c.out, BuiltInChange{Field: FieldPath{steps: path}.String(), Change: change, Rule: name})
}

// rule finds the built-in rule whose fields cover path in an object of
// c.kind, or nil.
func (c *comparer) rule(path []step, v any) *DescribedRule {
	for i := range c.rules {
		d := &c.rules[i]
		if d.Stage != StageNormalize || !strings.HasPrefix(d.Match, "every object") && !strings.Contains(" "+d.Match+" ", " "+c.kind+" ") {
			continue
		}
		if d.Name == "null-creation-timestamps" && v == nil && len(path) > 0 && path[len(path)-1].key == "creationTimestamp" {
			return d
		}
		for _, f := range d.Fields {
			p, err := ParseFieldPath(f)
			if err == nil && covers(p.steps, path) {
				return d
			}
		}
	}
	return nil
}

// covers says pattern (keys, indexes and [*]) names concrete or one of
// its ancestors.
func covers(pattern, concrete []step) bool {
	n := min(len(pattern), len(concrete))
	for i := range n {
		p, c := pattern[i], concrete[i]
		switch {
		case p.kind == stepAll:
		case p.kind == stepIndex && c.kind == stepIndex && p.index == c.index:
		case p.kind != stepIndex && c.kind == stepKey && p.key == c.key:
		default:
			return false
		}
	}
	return len(pattern) <= len(concrete)
}

// String writes the explanation for people.
func (ex Explanation) String() string {
	var b strings.Builder
	if ex.Skipped != "" {
		fmt.Fprintf(&b, "skipped by default: %s; nothing is stored\n", ex.Skipped)
		return b.String()
	}
	b.WriteString("user rules:\n")
	if len(ex.User) == 0 {
		b.WriteString("  none matched\n")
	}
	for _, a := range ex.User {
		for _, line := range strings.SplitAfter(strings.TrimSuffix(a.String(), "\n"), "\n") {
			b.WriteString("  " + line)
		}
		b.WriteByte('\n')
	}
	b.WriteString("built-in rules:\n")
	if len(ex.BuiltIn) == 0 {
		b.WriteString("  nothing changed\n")
	}
	width := 0
	for _, c := range ex.BuiltIn {
		width = max(width, len(c.Field))
	}
	for _, c := range ex.BuiltIn {
		fmt.Fprintf(&b, "  %-*s  %s by %s\n", width, c.Field, c.Change, c.Rule)
	}
	b.WriteString("stored as:\n")
	for _, line := range strings.SplitAfter(strings.TrimSuffix(ex.Result, "\n"), "\n") {
		b.WriteString("  " + line)
	}
	b.WriteByte('\n')
	return b.String()
}
