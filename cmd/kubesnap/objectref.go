package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
)

// objectRefUsage is how history, show and blame name an object.
const objectRefUsage = "TYPE/NAMESPACE/NAME or TYPE/NAME for a cluster-scoped object (deployments.apps/default/web, namespaces/default)"

// storedTypeCandidate is one type folder of a revision, parsed.
type storedTypeCandidate struct {
	res        string // <resource>[.<group>], as the folder is named
	id         canonical.ID
	namespaced bool
	folder     string
}

// resolveObject finds the object arg names (TYPE/NAMESPACE/NAME or
// TYPE/NAME) in the revision v without a cluster: TYPE is a type folder's
// name (deployments.apps), a resource when one group alone has a folder
// of it (deployments), or a kind or its lower-case singular (Deployment,
// deployment), read from one stored file of each folder. A type no
// folder holds, written RESOURCE.GROUP, is taken as given: its objects
// may all be gone at that revision. A bad or ambiguous name is bad usage.
func resolveObject(v *gitstore.Revision, arg string) (canonical.ID, error) {
	parts, err := splitObjectArg(arg)
	if err != nil {
		return canonical.ID{}, err
	}
	all, err := storedTypes(v)
	if err != nil {
		return canonical.ID{}, err
	}
	typ := parts[0]
	found := findStoredType(v, all, typ)
	var t storedTypeCandidate
	switch {
	case len(found) == 1:
		t = found[0]
	case len(found) > 1:
		names := make([]string, len(found))
		for i, c := range found {
			names[i] = c.res
		}
		return canonical.ID{}, usageError{fmt.Errorf("%s: %q names %s in the repository; write one of them", canonical.Shown(arg), typ, strings.Join(names, ", "))}
	case strings.Contains(typ, "."):
		return qualifiedObject(parts), nil
	default:
		return canonical.ID{}, usageError{fmt.Errorf("%s: revision %s has no type %q: name it as its folder is named, RESOURCE.GROUP (deployments.apps), or by its kind (Deployment)", canonical.Shown(arg), v.Name, typ)}
	}
	id := canonical.ID{Group: t.id.Group, Resource: t.id.Resource, Name: parts[len(parts)-1]}
	switch {
	case t.namespaced && len(parts) != 3:
		return canonical.ID{}, usageError{fmt.Errorf("%s: %s are namespaced; write %s/NAMESPACE/%s", canonical.Shown(arg), t.res, typ, id.Name)}
	case !t.namespaced && len(parts) != 2:
		return canonical.ID{}, usageError{fmt.Errorf("%s: %s are cluster-scoped; write %s/%s", canonical.Shown(arg), t.res, typ, id.Name)}
	case t.namespaced:
		id.Namespace = parts[1]
	}
	return id, nil
}

// storedTypes are the type folders of the revision v that kubesnap could
// have written, parsed.
func storedTypes(v *gitstore.Revision) ([]storedTypeCandidate, error) {
	folders, err := v.TypeFolders()
	if err != nil {
		return nil, err
	}
	var all []storedTypeCandidate
	for _, f := range folders {
		id, err := canonical.ParsePath(f.Folder + "/x.yaml")
		if err != nil {
			continue // no folder kubesnap writes
		}
		all = append(all, storedTypeCandidate{res: id.ResourceDir(), id: id, namespaced: f.Namespaced, folder: f.Folder})
	}
	return all, nil
}

// findStoredType is what typ names among all, the type folders of v, as
// resolveObject says: a folder's name, else a resource, else a kind.
func findStoredType(v *gitstore.Revision, all []storedTypeCandidate, typ string) []storedTypeCandidate {
	found := matchTypes(all, func(c storedTypeCandidate) bool { return c.res == typ })
	if len(found) == 0 {
		found = matchTypes(all, func(c storedTypeCandidate) bool { return c.id.Resource == typ })
	}
	if len(found) == 0 {
		found = matchTypes(all, func(c storedTypeCandidate) bool { return strings.EqualFold(storedKind(v, c.folder), typ) })
	}
	return found
}

// splitObjectArg splits TYPE/NAMESPACE/NAME or TYPE/NAME.
func splitObjectArg(arg string) ([]string, error) {
	parts := strings.Split(arg, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return nil, usageError{fmt.Errorf("%s: want %s", canonical.Shown(arg), objectRefUsage)}
	}
	return parts, nil
}

// qualifiedObject is the object parts names when its TYPE is written
// RESOURCE.GROUP, taken as given: namespaced when a namespace is named.
func qualifiedObject(parts []string) canonical.ID {
	res, group, _ := strings.Cut(parts[0], ".")
	id := canonical.ID{Resource: res, Group: group, Name: parts[len(parts)-1]}
	if len(parts) == 3 {
		id.Namespace = parts[1]
	}
	return id
}

// matchTypes are the candidates ok takes, one per folder name and scope.
func matchTypes(all []storedTypeCandidate, ok func(storedTypeCandidate) bool) []storedTypeCandidate {
	var out []storedTypeCandidate
	for _, c := range all {
		if ok(c) && !slices.ContainsFunc(out, func(o storedTypeCandidate) bool { return o.res == c.res }) {
			out = append(out, c)
		}
	}
	return out
}

// storedKind is the kind of the first object stored in folder, "" when
// there is none or it cannot be read (a hostile file names no type).
func storedKind(v *gitstore.Revision, folder string) string {
	p, err := v.FirstFile(folder)
	if err != nil || p == "" {
		return ""
	}
	data, err := v.ReadObject(p)
	if err != nil {
		return ""
	}
	obj, err := canonical.Parse(data)
	if err != nil {
		return ""
	}
	return obj.GetKind()
}

// notFound says an object is not at a revision, in the words of the
// command: errors.As finds a *gitstore.NotFoundError.
func notFound(err error) bool {
	var nf *gitstore.NotFoundError
	return errors.As(err, &nf)
}
