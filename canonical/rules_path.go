package canonical

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FieldPath names fields of an object for a normalization rule: every field it
// matches is removed. It is written either as a JSON pointer (RFC 6901:
// "/spec/replicas", with "~1" for "/" and "~0" for "~" in keys) or in the
// simple syntax:
//
//	spec.replicas                          keys joined by dots
//	metadata.annotations["a.b/c"]          a quoted key (any characters; \" and \\ escape)
//	webhooks[*].clientConfig.caBundle      [*]: every list item or map value
//	spec.template.spec.containers[0].image [N]: the list item at index N
//
// A bare key holds only ASCII letters, digits, '-' and '_'; quote any
// other key (single quotes work too: ['a.b']). In a JSON pointer a
// token is a key on a map and an index on a list, as RFC 6901 says.
// The zero FieldPath matches nothing.
type FieldPath struct {
	steps   []step
	pointer bool // written as a JSON pointer: String gives one back
}

type stepKind uint8

const (
	stepKey   stepKind = iota // a map key
	stepIndex                 // a list index
	stepAll                   // every list item or map value
	stepToken                 // a JSON pointer token: a map key, or an index on a list
)

type step struct {
	kind  stepKind
	key   string // stepKey, stepToken
	index int    // stepIndex
}

// pathHint ends every path syntax error.
const pathHint = `; use a.b, a["b.c"], a[*], a[0] or a JSON pointer /a/b`

// ParseFieldPath parses a path in the simple syntax or a JSON pointer. Its
// errors name what is wrong and the byte offset where, e.g.
// `empty key at offset 5; use a.b, a["b.c"], a[*], a[0] or a JSON pointer /a/b`.
func ParseFieldPath(s string) (FieldPath, error) {
	if strings.HasPrefix(s, "/") {
		return parsePointer(s)
	}
	return parseSimple(s)
}

func parsePointer(s string) (FieldPath, error) {
	p := FieldPath{pointer: true}
	start := 1
	for i := 1; i <= len(s); i++ {
		if i < len(s) && s[i] != '/' {
			continue
		}
		tok := s[start:i]
		if strings.Contains(tok, "~") {
			var b strings.Builder
			for j := 0; j < len(tok); j++ {
				if tok[j] != '~' {
					b.WriteByte(tok[j])
					continue
				}
				if j+1 < len(tok) && (tok[j+1] == '0' || tok[j+1] == '1') {
					b.WriteByte("~/"[tok[j+1]-'0'])
					j++
					continue
				}
				end := min(j+2, len(tok))
				return FieldPath{}, fmt.Errorf("bad escape %q at offset %d; in a JSON pointer write ~0 for ~ and ~1 for /", tok[j:end], start+j)
			}
			tok = b.String()
		}
		p.steps = append(p.steps, step{kind: stepToken, key: tok})
		start = i + 1
	}
	return p, nil
}

func bareKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func parseSimple(s string) (FieldPath, error) {
	var p FieldPath
	if s == "" {
		return FieldPath{}, errors.New("empty path" + pathHint)
	}
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '[':
			st, n, err := parseBracket(s, i)
			if err != nil {
				return FieldPath{}, err
			}
			p.steps = append(p.steps, st)
			i = n
		case len(p.steps) > 0 && s[i] != '.':
			return FieldPath{}, fmt.Errorf("unexpected %q at offset %d, want . or [%s", s[i], i, pathHint)
		default:
			if len(p.steps) > 0 {
				i++ // the dot
			}
			start := i
			for i < len(s) && bareKeyByte(s[i]) {
				i++
			}
			if i == start {
				if i == len(s) || s[i] == '.' || s[i] == '[' {
					return FieldPath{}, fmt.Errorf("empty key at offset %d%s", start, pathHint)
				}
				return FieldPath{}, unexpected(s, i)
			}
			if i < len(s) && s[i] != '.' && s[i] != '[' {
				return FieldPath{}, unexpected(s, i)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: s[start:i]})
		}
	}
	return p, nil
}

func unexpected(s string, i int) error {
	c := s[i]
	switch c {
	case '*':
		return fmt.Errorf("unexpected * at offset %d; write [*] for every item%s", i, pathHint)
	case ']':
		return fmt.Errorf("unexpected ] at offset %d%s", i, pathHint)
	}
	return fmt.Errorf("unexpected %q at offset %d; quote keys with characters other than letters, digits, - and _: a[\"b/c\"]", c, i)
}

// parseBracket parses the selector that starts with '[' at s[i] and
// returns the offset after its ']'.
func parseBracket(s string, i int) (step, int, error) {
	open := i
	i++
	if i >= len(s) {
		return step{}, 0, fmt.Errorf("unclosed [ at offset %d%s", open, pathHint)
	}
	switch c := s[i]; {
	case c == '*':
		if i+1 < len(s) && s[i+1] == ']' {
			return step{kind: stepAll}, i + 2, nil
		}
		return step{}, 0, fmt.Errorf("unclosed [* at offset %d%s", open, pathHint)
	case '0' <= c && c <= '9':
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i >= len(s) || s[i] != ']' {
			return step{}, 0, fmt.Errorf("unclosed index at offset %d%s", open, pathHint)
		}
		n, err := strconv.Atoi(s[start:i])
		if err != nil {
			return step{}, 0, fmt.Errorf("index %s at offset %d is too large", s[start:i], start)
		}
		return step{kind: stepIndex, index: n}, i + 1, nil
	case c == '"' || c == '\'':
		quote := c
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) && (s[i+1] == quote || s[i+1] == '\\') {
					i++
					b.WriteByte(s[i])
					continue
				}
				return step{}, 0, fmt.Errorf(`unknown escape at offset %d; in a quoted key only \%c and \\ escape`, i, quote)
			case quote:
				if i+1 < len(s) && s[i+1] == ']' {
					return step{kind: stepKey, key: b.String()}, i + 2, nil
				}
				return step{}, 0, fmt.Errorf("want ] at offset %d after the quoted key%s", i+1, pathHint)
			default:
				b.WriteByte(s[i])
			}
		}
		return step{}, 0, fmt.Errorf("unterminated quoted key at offset %d%s", open+1, pathHint)
	case c == '-':
		return step{}, 0, fmt.Errorf("negative index at offset %d%s", i, pathHint)
	default:
		return step{}, 0, fmt.Errorf("unexpected %q at offset %d, want *, an index or a quoted key%s", c, i, pathHint)
	}
}

// String returns p in the syntax it was written in (a JSON pointer stays
// one); ParseFieldPath(p.String()) gives p back.
func (p FieldPath) String() string {
	var b strings.Builder
	for i, st := range p.steps {
		switch st.kind {
		case stepToken:
			b.WriteByte('/')
			for j := 0; j < len(st.key); j++ {
				switch c := st.key[j]; c {
				case '~':
					b.WriteString("~0")
				case '/':
					b.WriteString("~1")
				default:
					b.WriteByte(c)
				}
			}
		case stepIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
		case stepAll:
			b.WriteString("[*]")
		case stepKey:
			if st.key != "" && strings.IndexFunc(st.key, func(r rune) bool { return r > 0x7f || !bareKeyByte(byte(r)) }) < 0 {
				if i > 0 {
					b.WriteByte('.')
				}
				b.WriteString(st.key)
				continue
			}
			b.WriteString(`["`)
			for j := 0; j < len(st.key); j++ {
				if c := st.key[j]; c == '\\' || c == '"' {
					b.WriteByte('\\')
				}
				b.WriteByte(st.key[j])
			}
			b.WriteString(`"]`)
		}
	}
	return b.String()
}

// Equal reports whether p and q are the same path written the same way.
func (p FieldPath) Equal(q FieldPath) bool {
	return p.pointer == q.pointer && slices.Equal(p.steps, q.steps)
}

// MarshalText writes p as String does.
func (p FieldPath) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses p with ParseFieldPath.
func (p *FieldPath) UnmarshalText(text []byte) error {
	q, err := ParseFieldPath(string(text))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// identityFields are what kubesnap needs to know an object by; no rule may
// remove them (or a field that holds them).
var identityFields = [][]string{{"apiVersion"}, {"kind"}, {"metadata"}, {"metadata", "name"}, {"metadata", "namespace"}}

// removesIdentity reports whether p could match an identity field or one
// that holds one.
func (p FieldPath) removesIdentity() bool {
	if len(p.steps) == 0 {
		return true
	}
	for _, id := range identityFields {
		if len(id) != len(p.steps) {
			continue
		}
		all := true
		for i, st := range p.steps {
			all = all && st.matchesKey(id[i])
		}
		if all {
			return true
		}
	}
	return false
}

func (st step) matchesKey(k string) bool {
	return st.kind == stepAll || (st.kind == stepKey || st.kind == stepToken) && st.key == k
}

// isIdentity reports whether the concrete path cur (keys and indices) is
// an identity field or holds one.
func isIdentity(cur []step) bool {
	switch len(cur) {
	case 0:
		return true
	case 1:
		k := cur[0].key
		return cur[0].kind == stepKey && (k == "apiVersion" || k == "kind" || k == "metadata")
	case 2:
		k := cur[1].key
		return cur[0].kind == stepKey && cur[0].key == "metadata" && cur[1].kind == stepKey && (k == "name" || k == "namespace")
	}
	return false
}

// pointerIndex reads a JSON pointer token as a list index (RFC 6901: "0"
// or digits without a leading zero).
func pointerIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

// remover removes fields from one object for one rule and records what
// it removed.
type remover struct {
	field    FieldPath // the IgnoreFields entry being applied, if any
	fieldStr string    // field.String(), once needed
	cur      []step    // the concrete path to the value being visited
	removed  []Removal
}

func (r *remover) record(managers []string) {
	rm := Removal{FieldPath: FieldPath{steps: slices.Clone(r.cur)}, Managers: managers}
	if managers == nil {
		if r.fieldStr == "" {
			r.fieldStr = r.field.String()
		}
		rm.Field = r.fieldStr
	}
	r.removed = append(r.removed, rm)
}

// removePath removes every field that steps match below v, and returns v
// (a list shrinks, so its holder must store it again) and whether anything
// went. Maps and lists that the removal leaves empty go too (judgement: a
// controller made them to hold what it wrote, as with the restartedAt
// annotation of a pod template that had none).
func (r *remover) removePath(v any, steps []step) (any, bool) {
	st, rest := steps[0], steps[1:]
	switch c := v.(type) {
	case map[string]any:
		switch st.kind {
		case stepKey, stepToken:
			if _, ok := c[st.key]; ok {
				return v, r.removeFromMap(c, st.key, rest)
			}
		case stepAll:
			keys := make([]string, 0, len(c))
			for k := range c {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			removed := false
			for _, k := range keys {
				removed = r.removeFromMap(c, k, rest) || removed
			}
			return v, removed
		}
	case []any:
		var drop []int
		switch st.kind {
		case stepIndex:
			if st.index < len(c) {
				drop = r.removeFromList(c, st.index, rest, drop)
			}
		case stepToken:
			if n, ok := pointerIndex(st.key); ok && n < len(c) {
				drop = r.removeFromList(c, n, rest, drop)
			}
		case stepAll:
			for i := range c {
				drop = r.removeFromList(c, i, rest, drop)
			}
		}
		if len(drop) > 0 {
			return deleteIndexes(c, drop), true
		}
	}
	return v, false
}

// removeFromMap removes what rest matches below c[k] (or c[k] itself when
// rest is empty), and c[k] when that leaves it empty.
func (r *remover) removeFromMap(c map[string]any, k string, rest []step) bool {
	r.cur = append(r.cur, step{kind: stepKey, key: k})
	defer func() { r.cur = r.cur[:len(r.cur)-1] }()
	if len(rest) == 0 {
		if isIdentity(r.cur) {
			return false
		}
		delete(c, k)
		r.record(nil)
		return true
	}
	child, removed := r.removePath(c[k], rest)
	if !removed {
		return false
	}
	if isEmpty(child) && !isIdentity(r.cur) {
		delete(c, k)
	} else {
		c[k] = child
	}
	return true
}

// removeFromList is removeFromMap for c[i]; it returns drop with i
// appended when the item must go (the caller removes it, so that the
// indexes of the items after it stay put meanwhile).
func (r *remover) removeFromList(c []any, i int, rest []step, drop []int) []int {
	r.cur = append(r.cur, step{kind: stepIndex, index: i})
	defer func() { r.cur = r.cur[:len(r.cur)-1] }()
	if len(rest) == 0 {
		r.record(nil)
		return append(drop, i)
	}
	child, removed := r.removePath(c[i], rest)
	switch {
	case !removed:
	case isEmpty(child):
		drop = append(drop, i)
	default:
		c[i] = child
	}
	return drop
}

// deleteIndexes removes the items at the ascending indexes drop from l.
func deleteIndexes(l []any, drop []int) []any {
	kept := l[:0]
	for i, e := range l {
		if len(drop) > 0 && drop[0] == i {
			drop = drop[1:]
			continue
		}
		kept = append(kept, e)
	}
	clear(l[len(kept):])
	return kept
}

func isEmpty(v any) bool {
	switch c := v.(type) {
	case map[string]any:
		return len(c) == 0
	case []any:
		return len(c) == 0
	}
	return false
}
