package canonical

import (
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// A snapshot marshals every object of the cluster, and yaml.v3's emitter
// (a port of libyaml: an event stream, a state machine and an analysis of
// every scalar) was half of a snapshot's own CPU time. emit writes the
// same bytes directly for the shapes canonical objects have: block
// mappings with sorted keys, block sequences, and scalars. It decides
// nothing about a scalar that yaml.v3 would decide differently in another
// place of the document:
//   - strings of printable ASCII that start with a letter, hold no ": "
//     or " #", and are not a word YAML reads as a boolean or null, are
//     plain, as yaml.v3 writes them (see plainScalar);
//   - other strings of one line are rendered by yaml.v3 itself, once, as
//     the value (or key) of a one-entry mapping, and cached: a scalar of
//     one line is written the same at any indentation;
//   - strings of several lines of printable ASCII become literal blocks
//     (`|`, `|-`), as yaml.v3 writes them; those it would quote are
//     rendered by yaml.v3 as above;
//   - anything else (a literal block yaml.v3 would keep trailing newlines
//     of, a key of more than 128 bytes or of several lines, a value that
//     is not JSON) makes Marshal give the whole object to yaml.v3.
//
// TestEmitMatchesYAMLv3 and FuzzEmitMatchesYAMLv3 hold it to yaml.v3's
// bytes.

// emit appends the canonical YAML of a non-empty top-level mapping to b.
// ok is false when the object must go to yaml.v3.
func emit(b []byte, m map[string]any) (out []byte, ok bool) {
	if len(m) == 0 {
		return b, false
	}
	return emitMapping(b, m, 0, false)
}

// emitMapping writes m's entries as a block mapping at indent; the first
// key goes on the current line when inline (after a sequence's "- ").
func emitMapping(b []byte, m map[string]any, indent int, inline bool) ([]byte, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ok bool
	for i, k := range keys {
		if i > 0 || !inline {
			b = appendSpaces(b, indent)
		}
		if b, ok = appendKey(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = emitNode(b, m[k], indent+2, false); !ok {
			return b, false
		}
	}
	return b, true
}

// emitSequence writes s as a block sequence whose "- " are at indent; the
// first item goes on the current line when inline.
func emitSequence(b []byte, s []any, indent int, inline bool) ([]byte, bool) {
	var ok bool
	for i, v := range s {
		if i > 0 || !inline {
			b = appendSpaces(b, indent)
		}
		if b, ok = emitNode(append(b, '-'), v, indent+2, true); !ok {
			return b, false
		}
	}
	return b, true
}

// emitNode writes v after a key's ":" or a sequence's "-", with what it
// holds at indent: a nested mapping or sequence starts on the same line
// after a "-" (inline) and on the next one after a ":"; a literal block's
// lines are at indent either way.
func emitNode(b []byte, v any, indent int, inline bool) ([]byte, bool) {
	sep := byte('\n')
	if inline {
		sep = ' '
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return append(b, " {}\n"...), true
		}
		return emitMapping(append(b, sep), v, indent, inline)
	case []any:
		if len(v) == 0 {
			return append(b, " []\n"...), true
		}
		return emitSequence(append(b, sep), v, indent, inline)
	default:
		return appendScalar(append(b, ' '), v, indent)
	}
}

// appendScalar writes a scalar and ends the line; a literal block's lines
// are at indent.
func appendScalar(b []byte, v any, indent int) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		b = append(b, "null"...)
	case bool:
		b = strconv.AppendBool(b, v)
	case int64:
		b = strconv.AppendInt(b, v, 10)
	case int:
		b = strconv.AppendInt(b, int64(v), 10)
	case int32:
		b = strconv.AppendInt(b, int64(v), 10)
	case float64:
		n, err := floatNode(v)
		if err != nil {
			return b, false // Marshal's yaml.v3 path reports it
		}
		if n.Tag == "!!int" { // an integral float, written as an integer
			b = append(b, n.Value...)
			break
		}
		r, ok := rendered(n, false)
		if !ok {
			return b, false
		}
		b = append(b, r...)
	case string:
		if plainScalar(v) {
			b = append(b, v...)
			break
		}
		if strings.IndexByte(v, '\n') >= 0 {
			if out, ok := appendLiteral(b, v, indent); ok {
				return append(out, '\n'), true
			}
		}
		r, ok := rendered(stringNode(v), false)
		if !ok {
			return b, false
		}
		b = append(b, r...)
	default:
		return b, false
	}
	return append(b, '\n'), true
}

// appendKey writes a mapping key.
func appendKey(b []byte, k string) ([]byte, bool) {
	if len(k) > 128 {
		return b, false // yaml.v3 writes it as a complex key ("? ")
	}
	if plainScalar(k) {
		return append(b, k...), true
	}
	r, ok := rendered(stringNode(k), true)
	if !ok {
		return b, false
	}
	return append(b, r...), true
}

// plainScalar reports whether yaml.v3 writes s as it is, anywhere in a
// block: a letter, then printable ASCII, with no ": " or " #" (and no ":"
// or " " at the end), and not a word that reads as a boolean or null
// (yaml.v3's words, and YAML 1.1's, which stringNode quotes). Starting
// with a letter leaves out every indicator and every number.
func plainScalar(s string) bool {
	if len(s) == 0 {
		return false
	}
	if c := s[0] | 0x20; c < 'a' || c > 'z' { // a letter, either case
		return false
	}
	last := len(s) - 1
	for i := 1; i <= last; i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			return false
		case c == ':' && (i == last || s[i+1] == ' '):
			return false
		case c == ' ' && (i == last || s[i+1] == '#'):
			return false
		}
	}
	if len(s) <= 5 {
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL",
			"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
			"n", "N", "no", "No", "NO", "off", "Off", "OFF":
			return false
		}
	}
	return true
}

// appendLiteral writes v, a string of several lines, as a literal block
// with its lines at indent, when v is printable ASCII (tabs allowed) that
// yaml.v3 writes so: no space at a line's end, and not ending in more than
// one newline (yaml.v3 then writes "|+", which this leaves to it).
func appendLiteral(b []byte, v string, indent int) ([]byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\n' || c == '\t' || 0x20 <= c && c <= 0x7e {
			if c == ' ' && (i == len(v)-1 || v[i+1] == '\n') {
				return b, false // yaml.v3 quotes it
			}
			continue
		}
		return b, false
	}
	body := v
	chomp := "-"
	if v[len(v)-1] == '\n' {
		if len(v) == 1 || v[len(v)-2] == '\n' {
			return b, false // "|+"
		}
		chomp, body = "", v[:len(v)-1]
	}
	b = append(b, '|')
	if v[0] == ' ' || v[0] == '\n' {
		b = append(b, '2') // the indentation indicator yaml.v3 writes (its indent)
	}
	b = append(b, chomp...)
	b = append(b, '\n')
	for {
		line, rest, more := strings.Cut(body, "\n")
		if line != "" {
			b = appendSpaces(b, indent)
			b = append(b, line...)
		}
		if !more {
			break
		}
		b = append(b, '\n')
		body = rest
	}
	return b, true
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// renders caches yaml.v3's renderings of scalars of one line, by tag,
// role (key or value) and value. It stops growing at maxRenders entries
// (a watch runs for months), and holds no value longer than 128 bytes: a
// few MiB at most.
var (
	renders    gosync.Map
	numRenders atomic.Int64
)

const maxRenders = 1 << 14

type renderKey struct {
	tag, value string
	key        bool
}

// rendered returns how yaml.v3 writes scalar n as a mapping's key (key) or
// value; ok is false when that is not one line.
func rendered(n *yaml.Node, key bool) (string, bool) {
	rk := renderKey{tag: n.Tag, value: n.Value, key: key}
	if r, ok := renders.Load(rk); ok {
		return r.(string), true
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{scalar("!!str", "k"), n}}
	if key {
		doc.Content = []*yaml.Node{n, scalar("!!int", "0")}
	}
	data, err := encode(doc)
	if err != nil {
		return "", false
	}
	out := string(data)
	var r string
	var ok bool
	if key {
		r, ok = strings.CutSuffix(out, ": 0\n")
	} else if r, ok = strings.CutPrefix(out, "k: "); ok {
		r, ok = strings.CutSuffix(r, "\n")
	}
	// One line: no line break of any kind (YAML counts NEL, LS and PS,
	// which yaml.v3 writes unescaped in quoted scalars, and breaks lines
	// there at the indentation).
	if !ok || strings.ContainsAny(r, "\n\r\u0085\u2028\u2029") || r == "" || r[0] == '|' || r[0] == '>' {
		return "", false
	}
	if len(n.Value) <= 128 && numRenders.Load() < maxRenders {
		if _, loaded := renders.LoadOrStore(rk, r); !loaded {
			numRenders.Add(1)
		}
	}
	return r, true
}
