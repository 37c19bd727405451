package canonical

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"
)

// RuleError is one mistake in the normalize: section: where it is, and
// what is wrong and allowed.
type RuleError struct {
	// Line is the line in the YAML document, 0 when not known (rules
	// decoded from JSON).
	Line int
	// Where names the rule (index and name), the field and the value:
	// `normalize[2] (hpa-owns-replicas).ignoreFields[0] "spec..replicas"`.
	Where string
	Msg   string
}

func (e *RuleError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Where, e.Msg)
	}
	return e.Where + ": " + e.Msg
}

// RuleErrors are all the mistakes found in one normalize: section, in the
// order they appear; Error gives one line each.
type RuleErrors []*RuleError

func (es RuleErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// ParseRules reads the YAML (or JSON) list of rules that the configuration
// file holds under normalize:, as DecodeRules does.
func ParseRules(data []byte) (Rules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("normalize: %w", err)
	}
	return DecodeRules(&doc)
}

// DecodeRules reads rules from the YAML node of the normalize: section (a
// configuration loader using go.yaml.in/yaml/v3 can hold that section as a
// yaml.Node, or as a Rules field, whose UnmarshalYAML calls this). It is
// strict: unknown fields, bad paths, globs, selectors and manager patterns
// are errors. It checks every rule and returns all the errors it finds as
// RuleErrors, one line each, never only the first. An empty or null
// section is no rules.
func DecodeRules(node *yaml.Node) (Rules, error) {
	d := decoder{lines: true}
	rules := d.rules(node)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return rules, nil
}

// UnmarshalYAML decodes rules with DecodeRules.
func (rs *Rules) UnmarshalYAML(node *yaml.Node) error {
	rules, err := DecodeRules(node)
	if err != nil {
		return err
	}
	*rs = rules
	return nil
}

// UnmarshalJSON decodes rules as DecodeRules does, for loaders that read
// YAML through JSON (sigs.k8s.io/yaml): their errors carry no line.
func (rs *Rules) UnmarshalJSON(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("normalize: %w", err)
	}
	d := decoder{}
	rules := d.rules(&doc)
	if len(d.errs) > 0 {
		return d.errs
	}
	*rs = rules
	return nil
}

type decoder struct {
	lines bool
	errs  RuleErrors
}

func (d *decoder) fail(n *yaml.Node, where, format string, args ...any) {
	e := &RuleError{Where: where, Msg: fmt.Sprintf(format, args...)}
	if d.lines && n != nil {
		e.Line = n.Line
	}
	d.errs = append(d.errs, e)
}

// ResolveNode follows a document node or an alias to the node it stands
// for (nil for an empty document). A configuration loader that hands
// DecodeRules its normalize: section reads the rest of its file with it.
func ResolveNode(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

const ruleFields = "name, match, ignoreFields, ignoreManagers"
const matchFields = "group, kind, namespaces, names, labelSelector"

func (d *decoder) rules(n *yaml.Node) Rules {
	n = ResolveNode(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "normalize", "want a list of rules, got %s", kindName(n))
		return nil
	}
	var rules Rules
	names := map[string]int{}
	for i, item := range n.Content {
		r, ok := d.rule(i, ResolveNode(item))
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				d.fail(item, r.Label(i), "name %q is already the name of normalize[%d]", r.Name, j)
				ok = false
			} else {
				names[r.Name] = i
			}
		}
		if ok {
			rules = append(rules, r)
		}
	}
	return rules
}

// fields returns a mapping's values by key, reporting unknown and repeated
// keys.
func (d *decoder) fields(n *yaml.Node, where, allowed string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !strings.Contains(", "+allowed+", ", ", "+k.Value+", "):
			d.fail(k, where, "unknown field %q; allowed: %s", k.Value, allowed)
		case out[k.Value] != nil:
			d.fail(k, where, "field %q given twice", k.Value)
		default:
			out[k.Value] = ResolveNode(v)
		}
	}
	return out
}

func (d *decoder) rule(i int, n *yaml.Node) (Rule, bool) {
	var r Rule
	where := r.Label(i)
	if isNull(n) || n.Kind != yaml.MappingNode {
		d.fail(n, where, "want a rule (a mapping with %s), got %s", ruleFields, kindName(n))
		return r, false
	}
	errs := len(d.errs)
	// The name first, so that every error about the rule can show it.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "name" {
			if s, ok := d.str(ResolveNode(n.Content[j+1]), where+".name"); ok {
				if s == "" || strings.IndexFunc(s, unicode.IsControl) >= 0 {
					d.fail(n.Content[j+1], where+".name", "want a name without control characters, or no name field")
				} else {
					r.Name = s
				}
			}
			break
		}
	}
	where = r.Label(i)
	f := d.fields(n, where, ruleFields)
	if m := f["match"]; m != nil {
		r.Match = d.match(m, where+".match")
	}
	if v, ok := f["ignoreFields"]; ok {
		for j, item := range d.list(v, where+".ignoreFields") {
			at := fmt.Sprintf("%s.ignoreFields[%d]", where, j)
			s, ok := d.str(item, at)
			if !ok {
				continue
			}
			at += " " + strconv.Quote(s)
			p, err := ParseFieldPath(s)
			switch {
			case err != nil:
				d.fail(item, at, "%v", err)
			case p.removesIdentity():
				d.fail(item, at, "would remove apiVersion, kind, metadata.name or metadata.namespace, which kubesnap needs to store the object")
			default:
				r.IgnoreFields = append(r.IgnoreFields, p)
			}
		}
	}
	if v, ok := f["ignoreManagers"]; ok {
		for j, item := range d.list(v, where+".ignoreManagers") {
			at := fmt.Sprintf("%s.ignoreManagers[%d]", where, j)
			s, ok := d.str(item, at)
			if !ok {
				continue
			}
			at += " " + strconv.Quote(s)
			if msg := badManager(s); msg != "" {
				d.fail(item, at, "%s", msg)
				continue
			}
			r.IgnoreManagers = append(r.IgnoreManagers, s)
		}
	}
	if len(d.errs) > errs {
		return r, false
	}
	if len(r.IgnoreFields) == 0 && len(r.IgnoreManagers) == 0 {
		d.fail(n, where, "a rule needs ignoreFields or ignoreManagers (or both)")
		return r, false
	}
	return r, true
}

func (d *decoder) match(n *yaml.Node, where string) Match {
	var m Match
	if isNull(n) {
		return m
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, where, "want a mapping with %s, got %s", matchFields, kindName(n))
		return m
	}
	f := d.fields(n, where, matchFields)
	if v, ok := f["group"]; ok {
		if s, ok := d.str(v, where+".group"); ok {
			at := where + ".group " + strconv.Quote(s)
			switch {
			case s == "" || s == "core":
				m.Group = "core"
			case s == "*":
			case badGlob(s):
				d.fail(v, at, "bad glob; use a group (apps), \"\" or core for the core group, or a glob (*.example.com)")
			default:
				m.Group = s
			}
		}
	}
	if v, ok := f["kind"]; ok {
		if s, ok := d.str(v, where+".kind"); ok {
			at := where + ".kind " + strconv.Quote(s)
			switch {
			case s == "":
				d.fail(v, at, "empty kind; leave kind out to match every kind")
			case badGlob(s):
				d.fail(v, at, "bad glob; use a kind (Deployment) or a glob")
			case s != "*":
				m.Kind = s
			}
		}
	}
	m.Namespaces = d.globs(f, "namespaces", where, "namespace")
	m.Names = d.globs(f, "names", where, "name")
	if v, ok := f["labelSelector"]; ok {
		if s, ok := d.str(v, where+".labelSelector"); ok {
			at := where + ".labelSelector " + strconv.Quote(s)
			if strings.TrimSpace(s) == "" {
				d.fail(v, at, "empty selector; leave labelSelector out to match every label")
			} else if sel, err := labels.Parse(s); err != nil {
				d.fail(v, at, "%s; write it as kubectl -l takes it, e.g. app=web,tier!=db", oneLine(err.Error()))
			} else {
				m.Selector = sel
			}
		}
	}
	return m
}

func (d *decoder) globs(f map[string]*yaml.Node, field, where, what string) []string {
	v, ok := f[field]
	if !ok {
		return nil
	}
	where += "." + field
	items := d.list(v, where)
	if v.Kind == yaml.SequenceNode && len(items) == 0 {
		d.fail(v, where, "empty list; leave %s out to match every %s", field, what)
	}
	var out []string
	for j, item := range items {
		at := fmt.Sprintf("%s[%d]", where, j)
		s, ok := d.str(item, at)
		if !ok {
			continue
		}
		at += " " + strconv.Quote(s)
		switch {
		case s == "":
			d.fail(item, at, "empty %s", what)
		case badGlob(s):
			d.fail(item, at, "bad glob; use a %s or a glob such as web-*", what)
		default:
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) list(n *yaml.Node, where string) []*yaml.Node {
	if isNull(n) || n.Kind != yaml.SequenceNode {
		d.fail(n, where, "want a list, got %s", kindName(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = ResolveNode(item)
	}
	return items
}

func (d *decoder) str(n *yaml.Node, where string) (string, bool) {
	if isNull(n) || n.Kind != yaml.ScalarNode {
		d.fail(n, where, "want a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func badGlob(pattern string) bool {
	_, err := path.Match(pattern, "")
	return err != nil
}

// badManager says what is wrong with a manager pattern, or "". A manager
// name is what the API server keeps in managedFields: at most 128
// printable characters (a client's fieldManager, or its user agent up to
// the first '/').
func badManager(s string) string {
	switch {
	case s == "":
		return "empty manager; use a field manager name (kube-controller-manager) or a glob (hpa-*)"
	case strings.TrimSpace(s) != s:
		return "leading or trailing space; manager names have none"
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "unprintable character; manager names are printable"
	case len(s) > 128:
		return "longer than 128 characters, the longest manager name the API server keeps"
	case badGlob(s):
		return "bad glob; use a field manager name (kube-controller-manager) or a glob (hpa-*)"
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// MarshalYAML writes r as DecodeRules reads it, fields in the order
// name, match, ignoreFields, ignoreManagers; a YAML 1.1 reader
// (sigs.k8s.io/yaml) reads it the same.
func (r Rule) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(key string, v *yaml.Node) {
		n.Content = append(n.Content, stringNode(key), v)
	}
	// stringNode quotes what a YAML 1.1 reader would not take for a
	// string ("no"), as Marshal does.
	str := stringNode
	seq := func(items []string) *yaml.Node {
		l := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, s := range items {
			l.Content = append(l.Content, str(s))
		}
		return l
	}
	if r.Name != "" {
		add("name", str(r.Name))
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	addTo := func(key string, v *yaml.Node) {
		m.Content = append(m.Content, str(key), v)
	}
	if r.Match.Group != "" {
		addTo("group", str(r.Match.Group))
	}
	if r.Match.Kind != "" {
		addTo("kind", str(r.Match.Kind))
	}
	if len(r.Match.Namespaces) > 0 {
		addTo("namespaces", seq(r.Match.Namespaces))
	}
	if len(r.Match.Names) > 0 {
		addTo("names", seq(r.Match.Names))
	}
	if r.Match.Selector != nil {
		addTo("labelSelector", str(r.Match.Selector.String()))
	}
	if len(m.Content) > 0 {
		add("match", m)
	}
	if len(r.IgnoreFields) > 0 {
		paths := make([]string, len(r.IgnoreFields))
		for i, p := range r.IgnoreFields {
			paths[i] = p.String()
		}
		add("ignoreFields", seq(paths))
	}
	if len(r.IgnoreManagers) > 0 {
		add("ignoreManagers", seq(r.IgnoreManagers))
	}
	return n, nil
}

var _ yaml.Marshaler = Rule{}
var _ yaml.Unmarshaler = (*Rules)(nil)
var _ error = RuleErrors(nil)
