package canonical

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// Parse reads one YAML object the way kubectl does (sigs.k8s.io/yaml, then
// the unstructured JSON decoder, which keeps integers as int64). It
// refuses a file of more than MaxFileSize bytes before parsing it, and a
// file of more than one document, whose other documents kubectl's reader
// would silently drop. The parser refuses alias bombs ("excessive
// aliasing") and nesting deeper than 10,000 levels.
func Parse(data []byte) (*unstructured.Unstructured, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(len(data))
	}
	if err := oneDocument(data); err != nil {
		return nil, err
	}
	j, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, fmt.Errorf("empty document")
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	return obj, nil
}

// oneDocument refuses data that holds a second YAML document. Only a
// file with a line starting with a document marker ("---", "...") after
// its first content can, so the rest are not parsed twice; those are
// counted by yaml.v3, empty and null documents aside (a trailing "---" is
// common in hand-written files).
func oneDocument(data []byte) error {
	if !markerAfterContent(data) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not one YAML document: %w", err)
		}
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
			continue
		}
		if n++; n > 1 {
			return fmt.Errorf("holds more than one YAML document (a second starts at line %d): keep one object per file", doc.Line)
		}
	}
}

// markerAfterContent reports whether a line of data after the first line
// holding content starts with "---" or "...".
func markerAfterContent(data []byte) bool {
	content := false
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		marker := (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) &&
			(len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r')
		switch {
		case marker && content:
			return true
		case marker:
			rest := bytes.TrimSpace(line[3:])
			content = len(rest) > 0 && rest[0] != '#' // "--- {a: 1}"
		default:
			t := bytes.TrimSpace(line)
			content = content || len(t) > 0 && t[0] != '#'
		}
	}
	return false
}
