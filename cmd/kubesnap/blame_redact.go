package main

import (
	"encoding/base64"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
)

// A Secret's stored file holds its values in every mode kubesnap stores
// it: as they are (plain), as ENC[…] (encrypted), or as the redaction
// marker with a keyed digest in an annotation (redacted). Blame prints
// the file line by line, so it hides lines, not fields: every line of
// the data and stringData blocks (the key kept, the value replaced) and
// the last-applied annotation with its continuation lines. As a second
// guard, a line that still holds any value of the Secret (as stored or
// decoded, four bytes or longer) is hidden whole, and a file that does
// not parse as one object has every line hidden.

// hiddenLine stands for a line whose every byte is hidden.
const hiddenLine = "<hidden: a Secret's value>"

// redactSecretLines returns the lines of the stored Secret data with
// its values hidden.
func redactSecretLines(lines []string, data []byte) []string {
	out := make([]string, len(lines))
	obj, err := canonical.Parse(data)
	if err != nil {
		for i := range out {
			out[i] = "<hidden: the Secret does not parse, so no line of it is shown>"
		}
		return out
	}
	values := secretValueStrings(obj.Object)
	inValues, blockIndent, annIndent := false, -1, -1
	for i, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		trimmed := strings.TrimSpace(line)
		switch {
		case annIndent >= 0 && (indent > annIndent || trimmed == ""):
			out[i] = line[:indent] + diff.SameValue // the annotation goes on
			continue
		case annIndent >= 0:
			annIndent = -1
		}
		switch {
		case indent == 0 && trimmed != "" && !strings.HasPrefix(trimmed, "#"):
			key, rest, _ := strings.Cut(line, ":")
			inValues, blockIndent = key == "data" || key == "stringData", -1
			out[i] = line
			if inValues && strings.TrimSpace(rest) != "" {
				out[i] = key + ": " + diff.SameValue // a flow mapping on one line
			}
		case inValues && trimmed == "":
			out[i] = line
		case inValues:
			if blockIndent < 0 {
				blockIndent = indent
			}
			out[i] = line[:indent] + diff.SameValue
			if key, _, ok := strings.Cut(trimmed, ":"); ok && indent == blockIndent && !strings.HasPrefix(trimmed, "-") {
				out[i] = line[:indent] + key + ": " + diff.SameValue
			}
		case strings.HasPrefix(strings.Trim(trimmed, `"'`), lastAppliedAnnotation):
			annIndent = indent
			out[i] = line[:indent] + lastAppliedAnnotation + ": " + diff.SameValue
		default:
			out[i] = line
		}
		if holdsValue(out[i], values) {
			out[i] = hiddenLine
		}
	}
	return out
}

// secretValueStrings are the Secret's values as strings, as stored and
// base64-decoded, and the last-applied annotation, for holdsValue.
func secretValueStrings(obj map[string]any) []string {
	var out []string
	addValue := func(s string) {
		if len(s) >= 4 && !canonical.IsRedacted(s) {
			out = append(out, s)
		}
	}
	for _, field := range []string{"data", "stringData"} {
		m, _ := obj[field].(map[string]any)
		for _, v := range m {
			s, ok := v.(string)
			if !ok {
				continue
			}
			addValue(s)
			if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
				addValue(string(dec))
				for l := range strings.SplitSeq(string(dec), "\n") {
					addValue(strings.TrimSpace(l))
				}
			}
			for l := range strings.SplitSeq(s, "\n") {
				addValue(strings.TrimSpace(l))
			}
		}
	}
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			if s, ok := ann[lastAppliedAnnotation].(string); ok {
				addValue(s)
			}
		}
	}
	return out
}

// holdsValue reports whether line holds any of values.
func holdsValue(line string, values []string) bool {
	for _, v := range values {
		if strings.Contains(line, v) {
			return true
		}
	}
	return false
}
