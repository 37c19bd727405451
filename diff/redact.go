package diff

import (
	"reflect"

	"github.com/kubesnap/kubesnap/canonical"
)

// redact returns the canonical YAML of side.obj with every value under
// data and stringData, and the last-applied annotation, replaced by a
// placeholder chosen by comparing with other; mine is the placeholder for a
// value that differs. It works on a copy, so that other still holds its
// values when its own turn comes. It returns false if the result cannot be
// marshalled.
func redact(side, other secretSide, mine string) ([]byte, bool) {
	obj := side.obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		v, ok := obj.Object[field]
		if !ok {
			continue
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			// An unexpected shape is hidden whole.
			obj.Object[field] = placeholder(other.obj != nil && reflect.DeepEqual(v, other.obj.Object[field]), mine)
			continue
		}
		for k := range m {
			w, ok := other.values[k]
			m[k] = placeholder(ok && w == side.values[k], mine)
		}
	}
	if ann := obj.GetAnnotations(); ann != nil {
		if v, ok := ann[lastApplied]; ok {
			same := other.obj != nil && other.obj.GetAnnotations()[lastApplied] == v
			ann[lastApplied] = placeholder(same, mine)
			obj.SetAnnotations(ann)
		}
	}
	out, err := canonical.Marshal(obj)
	if err != nil {
		return nil, false
	}
	return out, true
}

func placeholder(same bool, mine string) string {
	if same {
		return SameValue
	}
	return mine
}

// secretDiff is the diff of a Secret with its values redacted, and the keys
// that differ. When a side cannot be parsed nothing of its bytes is shown:
// there is no telling which of them are values.
func secretDiff(p Pair, fromName, toName string, context int, opts Options) (string, *SecretKeys) {
	from, fromOK := parseSecret(p.From)
	to, toOK := parseSecret(p.To)
	if !fromOK || !toOK {
		return unparsable(fromOK, toOK, opts), nil
	}
	keys := compareKeys(from.values, to.values)
	var fromText, toText []byte
	if from.obj != nil {
		var ok bool
		if fromText, ok = redact(from, to, OldValue); !ok {
			return hidden("the Secret could not be redacted: its content is hidden"), keys
		}
	}
	if to.obj != nil {
		var ok bool
		if toText, ok = redact(to, from, NewValue); !ok {
			return hidden("the Secret could not be redacted: its content is hidden"), keys
		}
	}
	if string(fromText) == string(toText) {
		// The files differ only in how they are written (formatting, or
		// how a value is encoded), which redaction hides.
		return hidden("the two sides differ only in formatting or in how values are encoded: Secret values are hidden"), keys
	}
	return unified(fromName, toName, string(fromText), string(toText), context), keys
}

// unparsable says which side of a Secret could not be parsed.
func unparsable(fromOK, toOK bool, opts Options) string {
	var where string
	switch {
	case !fromOK && !toOK:
		where = sideName(opts.From, "from") + " and " + sideName(opts.To, "to")
	case !fromOK:
		where = sideName(opts.From, "from")
	default:
		where = sideName(opts.To, "to")
	}
	return hidden("the Secret in " + where + " could not be parsed: its content is hidden")
}

// hidden is the Diff of a Secret whose content is not shown: one line that
// says why, marked as a comment so that no reader takes it for a diff line.
func hidden(why string) string {
	return "# " + why + "\n"
}
