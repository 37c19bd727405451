package canonical

import "slices"

// A snapshot marshals every object of the cluster, and yaml.v3's emitter
// (a port of libyaml: an event stream, a state machine and an analysis of
// every scalar) is costly on that path (BENCHMARKS.md). emit writes the
// same bytes directly for the shapes canonical objects have: block
// mappings with sorted keys, block sequences, and scalars. It decides
// nothing about a scalar that yaml.v3 would decide differently in another
// place of the document:
//   - strings of printable ASCII that start with a letter, hold no ": "
//     or " #", and are not a word YAML reads as a boolean or null, are
//     plain, as yaml.v3 writes them (see plainScalar);
//   - other strings of one line are rendered by yaml.v3 itself, once, as
//     the value (or key) of a one-entry mapping (renderScalar), and kept
//     in the Encoder's cache: a scalar of one line is written the same at
//     any indentation;
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
func (e *Encoder) emit(b []byte, m map[string]any) (out []byte, ok bool) {
	if len(m) == 0 {
		return b, false
	}
	return e.emitMapping(b, m, 0, false)
}

// emitMapping writes m's entries as a block mapping at indent; the first
// key goes on the current line when inline (after a sequence's "- ").
func (e *Encoder) emitMapping(b []byte, m map[string]any, indent int, inline bool) ([]byte, bool) {
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
		if b, ok = e.appendKey(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = e.emitNode(b, m[k], indent+2, false); !ok {
			return b, false
		}
	}
	return b, true
}

// emitSequence writes s as a block sequence whose "- " are at indent; the
// first item goes on the current line when inline.
func (e *Encoder) emitSequence(b []byte, s []any, indent int, inline bool) ([]byte, bool) {
	var ok bool
	for i, v := range s {
		if i > 0 || !inline {
			b = appendSpaces(b, indent)
		}
		if b, ok = e.emitNode(append(b, '-'), v, indent+2, true); !ok {
			return b, false
		}
	}
	return b, true
}

// emitNode writes v after a key's ":" or a sequence's "-", with what it
// holds at indent: a nested mapping or sequence starts on the same line
// after a "-" (inline) and on the next one after a ":"; a literal block's
// lines are at indent either way.
func (e *Encoder) emitNode(b []byte, v any, indent int, inline bool) ([]byte, bool) {
	sep := byte('\n')
	if inline {
		sep = ' '
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return append(b, " {}\n"...), true
		}
		return e.emitMapping(append(b, sep), v, indent, inline)
	case []any:
		if len(v) == 0 {
			return append(b, " []\n"...), true
		}
		return e.emitSequence(append(b, sep), v, indent, inline)
	default:
		return e.appendScalar(append(b, ' '), v, indent)
	}
}
