package sync

import (
	"context"

	"github.com/kubesnap/kubesnap/canonical"
)

// fanOut says how type t is listed or watched under filter f: once for
// all namespaces, or once per included namespace, each with f's label
// selector ("" for none).
func fanOut(t canonical.Type, f canonical.Filter) (namespaces []string, selector string) {
	namespaces = []string{""}
	if t.Namespaced && len(f.IncludeNamespaces) > 0 {
		namespaces = f.IncludeNamespaces
	}
	if f.Selector != nil {
		selector = f.Selector.String()
	}
	return namespaces, selector
}

// storedInScope reports whether the stored file at path may leave the
// repository when its object is gone: with a label selector, only an
// object that was in scope when stored may (a file that does not parse
// was not); without one, every file may. The error is rd's.
func storedInScope(ctx context.Context, rd Reader, f canonical.Filter, path string) (bool, error) {
	if f.Selector == nil {
		return true, nil
	}
	data, err := rd.Read(ctx, path)
	if err != nil {
		return false, err
	}
	return labelsMatch(f, data), nil
}
