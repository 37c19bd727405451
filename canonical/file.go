package canonical

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A revision's files are read by diff (sync.Drift, sync.CompareRevisions)
// and restore (restore.Load) alike: both take a file for an object only
// through ObjectFiles and ReadObject below, so that no file one of them
// refuses is silently taken, or silently dropped, by the other. They live
// here because both sides may import canonical and neither may import the
// other (sync must not import restore).

// MaxFileSize bounds the size of a file Parse reads. The API server stores
// no object larger than about 1.5 MiB (etcd's default request limit); an
// encrypted Secret grows by base64 and the sops metadata, so 8 MiB holds
// every object kubesnap could have written, while a larger file, whose
// parsing costs memory far beyond its size (BENCHMARKS.md), is refused
// before it starts.
const MaxFileSize = 8 << 20

// IsObjectPath reports whether p, relative to the prefix, lies where
// kubesnap keeps objects (under cluster/ or namespaces/): every such file
// must be an object file with a path PathOf gives.
func IsObjectPath(p string) bool {
	return strings.HasPrefix(p, clusterDir+"/") || strings.HasPrefix(p, namespaceDir+"/")
}

// ObjectFiles returns the identity of every object file of paths (those
// IsObjectPath names), and one line per file there whose name is not one
// PathOf gives ("UPPER.yaml", "bad%ZZ.yaml", ".yml"): such a file is no
// object of kubesnap's, and reading past it would leave out what its
// author meant to be there. Other files (the coverage report, a README)
// are neither.
func ObjectFiles(paths []string) (ids map[string]ID, bad []string) {
	ids = make(map[string]ID, len(paths))
	for _, p := range paths {
		if !IsObjectPath(p) {
			continue
		}
		id, err := ParsePath(p)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%v; rename or remove the file", err))
			continue
		}
		ids[p] = id
	}
	return ids, bad
}

// ReadObject parses the file of object id, as kubesnap reads a revision:
// one YAML document of at most MaxFileSize bytes holding a kind, an
// apiVersion, and the name, namespace and group its path names. A file
// encrypted in the sops format is returned in its redacted form, with
// sealed set. The error says why the file is refused; the parser's part
// of it may quote the file, so callers hide it for sensitive types.
func ReadObject(id ID, data []byte) (obj *unstructured.Unstructured, sealed bool, err error) {
	if len(data) > MaxFileSize {
		return nil, false, tooLarge(len(data))
	}
	if err := oneDocument(data); err != nil {
		return nil, false, err
	}
	if obj, _, sealed = Sealed(data); !sealed {
		if obj, err = Parse(data); err != nil {
			return nil, false, fmt.Errorf("not a Kubernetes object: %v", firstLine(err.Error()))
		}
	}
	if err := CheckObject(id, obj); err != nil {
		return nil, false, err
	}
	return obj, sealed, nil
}

// CheckObject checks that obj is the object id names: it has a kind and
// an apiVersion, and id's name, namespace and group.
func CheckObject(id ID, obj *unstructured.Unstructured) error {
	switch {
	case obj.GetKind() == "" || obj.GetAPIVersion() == "":
		return errors.New("no kind or apiVersion")
	case obj.GetName() == "":
		return errors.New("no metadata.name")
	case obj.GetName() != id.Name || obj.GetNamespace() != id.Namespace:
		name := obj.GetName()
		if obj.GetNamespace() != "" {
			name = obj.GetNamespace() + "/" + name
		}
		return fmt.Errorf("holds %s %s, not the object its path names (%s)", obj.GetKind(), name, id)
	case obj.GroupVersionKind().Group != id.Group:
		return fmt.Errorf("holds a %s of group %q, not of the path's group %q", obj.GetKind(), obj.GroupVersionKind().Group, id.Group)
	}
	return nil
}

func tooLarge(n int) error {
	return fmt.Errorf("%.1f MiB, larger than any object the API server stores (the limit is %d MiB)", float64(n)/(1<<20), MaxFileSize>>20)
}

// firstLine is the first line of s, at most 200 bytes: one line of an
// error, whatever the parser wrote.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
