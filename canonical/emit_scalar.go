package canonical

import (
	"strconv"
	"strings"
)

// appendScalar writes a scalar and ends the line; a literal block's lines
// are at indent.
func (e *Encoder) appendScalar(b []byte, v any, indent int) ([]byte, bool) {
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
		r, ok := e.render(n, false)
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
		r, ok := e.render(stringNode(v), false)
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
func (e *Encoder) appendKey(b []byte, k string) ([]byte, bool) {
	if len(k) > 128 {
		return b, false // yaml.v3 writes it as a complex key ("? ")
	}
	if plainScalar(k) {
		return append(b, k...), true
	}
	r, ok := e.render(stringNode(k), true)
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
