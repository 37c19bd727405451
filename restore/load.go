package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Revision is the repository's files at one revision (gitstore.Revision).
type Revision interface {
	// Files returns the blob id of every file under the prefix.
	Files(ctx context.Context) (map[string]string, error)
	// Read returns the content of path.
	Read(ctx context.Context, path string) ([]byte, error)
}

// Object is one object of the revision, as its file holds it.
type Object struct {
	ID   canonical.ID
	Path string
	Obj  *unstructured.Unstructured
	// Canonical says the file is in canonical form (kubesnap wrote it):
	// where it differs from the live object, the difference is real. A
	// file edited by hand may differ only in form; a dry-run tells.
	Canonical bool
}

// BadFilesError lists the revision's files that are not objects a
// restore can apply, one line each; nothing is applied.
type BadFilesError struct{ Lines []string }

func (e *BadFilesError) Error() string {
	return fmt.Sprintf("%d files in the revision are not valid objects, nothing was applied:\n%s", len(e.Lines), strings.Join(e.Lines, "\n"))
}

// Load reads every object file of rev in scope of f (files outside
// cluster/ and namespaces/, such as the coverage report, are not objects).
// A file that does not parse, holds no kind, apiVersion or name, or holds
// another object than its path names, makes a *BadFilesError naming every
// such file.
func Load(ctx context.Context, rev Revision, f canonical.Filter) ([]Object, error) {
	files, err := rev.Files(ctx)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []Object
	var bad []string
	for _, p := range paths {
		if !strings.HasPrefix(p, "cluster/") && !strings.HasPrefix(p, "namespaces/") {
			continue
		}
		id, err := canonical.ParsePath(p)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v; rename or remove the file", p, err))
			continue
		}
		if !f.ID(id) {
			continue
		}
		data, err := rev.Read(ctx, p)
		if err != nil {
			return nil, err
		}
		obj, err := check(id, data)
		if err != nil && id.Group == "" && id.Resource == "secrets" {
			// The parser's message may quote the document, values and all.
			err = errors.New("not a valid Secret object (details hidden: they may quote its values)")
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v; fix or remove the file", p, err))
			continue
		}
		if !f.Labels(obj.GetLabels()) {
			continue
		}
		c := obj.DeepCopy()
		canonical.Normalize(c, canonical.Facts{})
		canon, err := canonical.Marshal(c)
		out = append(out, Object{ID: id, Path: p, Obj: obj, Canonical: err == nil && string(canon) == string(data)})
	}
	if len(bad) > 0 {
		return nil, &BadFilesError{Lines: bad}
	}
	return out, nil
}

// check parses a file and checks it holds the object its path names.
func check(id canonical.ID, data []byte) (*unstructured.Unstructured, error) {
	obj, err := canonical.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %v", firstLine(err.Error()))
	}
	switch {
	case obj.GetKind() == "" || obj.GetAPIVersion() == "":
		return nil, errors.New("no kind or apiVersion")
	case obj.GetName() == "":
		return nil, errors.New("no metadata.name")
	case obj.GetName() != id.Name || obj.GetNamespace() != id.Namespace:
		name := obj.GetName()
		if obj.GetNamespace() != "" {
			name = obj.GetNamespace() + "/" + name
		}
		return nil, fmt.Errorf("holds %s %s, not the object its path names (%s)", obj.GetKind(), name, id)
	case obj.GroupVersionKind().Group != id.Group:
		return nil, fmt.Errorf("holds a %s of group %q, not of the path's group %q", obj.GetKind(), obj.GroupVersionKind().Group, id.Group)
	}
	return obj, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
