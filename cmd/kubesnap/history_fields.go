package main

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
)

// maxFieldsShown bounds the changed fields a line of history names;
// "and N more" says the rest.
const maxFieldsShown = 3

// errNotOneObject says a stored file is not one Kubernetes object. It
// never carries the parser's message: that may quote the file, a
// Secret's values and all.
var errNotOneObject = errors.New("not one Kubernetes object in YAML")

// parseStored reads a stored file as one object, as canonical.Parse does
// (one YAML document, a size bound).
func parseStored(data []byte) (map[string]any, error) {
	obj, err := canonical.Parse(data)
	if err != nil {
		return nil, errNotOneObject
	}
	return obj.Object, nil
}

// changedFields lists the leaf paths whose values differ between two
// versions of an object (spec.template.spec.containers[0].image), in
// order; a field on one side only is listed where it starts.
func changedFields(before, after *storedVersion) ([]string, error) {
	for _, v := range []*storedVersion{before, after} {
		if v.parseErr != nil {
			return nil, v.parseErr
		}
	}
	var out []string
	walkChanged("", before.obj, after.obj, &out)
	return out, nil
}

func walkChanged(path string, a, b any, out *[]string) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, seen := x[k]; !seen {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			av, inA := x[k]
			bv, inB := y[k]
			p := fieldPath(path, k)
			if !inA || !inB {
				*out = append(*out, p)
				continue
			}
			walkChanged(p, av, bv, out)
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		for i := range max(len(x), len(y)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			if i >= len(x) || i >= len(y) {
				*out = append(*out, p)
				continue
			}
			walkChanged(p, x[i], y[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		if path == "" {
			path = "."
		}
		*out = append(*out, path)
	}
}

// plainKey is a key written as it is in a field path; others are quoted
// in brackets: metadata.annotations["kubesnap.io/digest"].
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func fieldPath(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinFields is "a, b, c and 4 more".
func joinFields(fields []string) string {
	if len(fields) <= maxFieldsShown {
		return strings.Join(fields, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(fields[:maxFieldsShown], ", "), len(fields)-maxFieldsShown)
}
