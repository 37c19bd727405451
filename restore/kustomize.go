package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// RevisionFile is the file, next to the kustomization, that holds the
// revision's objects while Kustomize runs; the kustomization's resources
// name it last. When the folder holds a file of that name already, a
// numbered one is used ("kubesnap-revision-2.yaml").
const RevisionFile = "kubesnap-revision.yaml"

// Discovery lists the resource types a cluster serves; Target is one.
// Kustomize asks it only about kinds the revision holds no object of.
type Discovery interface {
	Served(ctx context.Context) (types []canonical.Type, serverVersion string, err error)
}

// Kustomize runs the kustomization in dir over objs (the revision's
// objects, after the filters) and returns what it builds, as objects with
// their identity and path, for MakePlan. It runs after the filters and
// before the namespace map: the kustomization is written for the
// revision's objects as git holds them, in their own namespaces, and
// --namespace-map then moves its result, binding subjects included.
//
// dir is a folder with a kustomization.yaml (or kustomization.yml, or
// Kustomization), and the patches and other files it names, in the
// folder or below it. Kustomize copies it into memory, writes objs there
// as one file (RevisionFile), appends that file to the kustomization's
// resources and builds it with kustomize's krusty (the defaults of
// kustomize build: no plugins, no Helm, nothing loaded from outside the
// folder, no remote bases). dir is only read. Folders whose names start
// with "." (.git) are not copied, nor are symbolic links to folders.
//
// Each object built gets its resource from its kind: as the revision's
// objects of that group and kind have it, or as a CustomResourceDefinition
// built with it defines it, or else as the cluster serves it (d is asked
// once, and only then; d may be nil). A kind none of these know stops the
// build, as does a namespaced object left without a namespace; an object
// of a cluster-scoped kind loses the namespace kustomize may have given it,
// as the server would drop it.
//
// The result is what a restore applies in place of the revision: with
// --prune, live objects in scope that the kustomization renamed or removed
// are deleted. Filters are not applied again to what the kustomization
// builds or adds. With no objs it returns none and reads nothing: an empty
// scope stays empty. Every error is one line: the kustomization's problem, in
// kustomize's words; callers name dir.
func Kustomize(ctx context.Context, dir fs.FS, objs []Object, d Discovery) ([]Object, error) {
	if len(objs) == 0 {
		// Nothing in scope stops MakePlan with ErrNoObjects; what a
		// kustomization adds must not turn that into a restore, which
		// with --prune would empty the scope.
		return nil, nil
	}
	mem, kfile, err := copyKustomization(dir)
	if err != nil {
		return nil, err
	}
	if err := addRevision(mem, kfile, objs); err != nil {
		return nil, err
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/")
	if err != nil {
		return nil, fmt.Errorf("kustomize: %s", oneLine(err.Error()))
	}
	var out []*unstructured.Unstructured
	for _, r := range built.Resources() {
		// Messages name the object, never its content: it may be a
		// Secret.
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize built %s, which does not marshal", r.CurId())
		}
		obj, err := canonical.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("kustomize built %s, which is not a Kubernetes object", r.CurId())
		}
		out = append(out, obj)
	}
	if len(out) == 0 {
		return nil, errors.New("the kustomization builds no objects")
	}
	return identify(ctx, out, objs, d)
}

// copyKustomization copies dir into an in-memory file system rooted at
// "/" and returns it with the name of the kustomization file.
func copyKustomization(dir fs.FS) (filesys.FileSystem, string, error) {
	if st, err := fs.Stat(dir, "."); errors.Is(err, fs.ErrNotExist) {
		return nil, "", errors.New("no such folder")
	} else if errors.Is(err, syscall.ENOTDIR) {
		return nil, "", errors.New("not a folder: give the folder that holds kustomization.yaml")
	} else if err != nil {
		return nil, "", fmt.Errorf("read the folder: %s", oneLine(err.Error()))
	} else if !st.IsDir() {
		return nil, "", errors.New("not a folder: give the folder that holds kustomization.yaml")
	}
	// Look for the kustomization first, so that a wrong folder (a home
	// directory) fails at once instead of being copied.
	var kfiles []string
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if st, err := fs.Stat(dir, n); err == nil && !st.IsDir() {
			kfiles = append(kfiles, n)
		}
	}
	switch len(kfiles) {
	case 0:
		return nil, "", fmt.Errorf("no %s in the folder", strings.Join(konfig.RecognizedKustomizationFileNames(), ", "))
	case 1:
	default:
		return nil, "", fmt.Errorf("the folder holds %s: keep one", strings.Join(kfiles, " and "))
	}
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(dir, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != "." && strings.HasPrefix(e.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		// Stat follows a symbolic link: read linked files, skip linked
		// folders and anything else that is not a file.
		if st, err := fs.Stat(dir, p); err != nil || !st.Mode().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(dir, p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		return nil, "", fmt.Errorf("copy the folder: %s", oneLine(err.Error()))
	}
	return mem, kfiles[0], nil
}

// addRevision writes objs to a free file name next to the kustomization
// and appends it to the kustomization's resources.
func addRevision(mem filesys.FileSystem, kfile string, objs []Object) error {
	name := RevisionFile
	for i := 2; mem.Exists("/" + name); i++ {
		name = fmt.Sprintf("%s-%d.yaml", strings.TrimSuffix(RevisionFile, ".yaml"), i)
	}
	var buf bytes.Buffer
	var enc canonical.Encoder
	for _, o := range objs {
		data, err := enc.Marshal(o.Obj)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	if err := mem.WriteFile("/"+name, buf.Bytes()); err != nil {
		return err
	}

	data, err := mem.ReadFile("/" + kfile)
	if err != nil {
		return err
	}
	// Read it as kustomize does, so that kustomize's own message names
	// what is wrong with it; kustomize build reads the file rewritten
	// here into the same type, so nothing it would use is lost.
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return fmt.Errorf("%s: %s", kfile, oneLine(err.Error()))
	}
	k.Resources = append(k.Resources, name)
	if data, err = sigsyaml.Marshal(&k); err != nil {
		return fmt.Errorf("%s: %s", kfile, oneLine(err.Error()))
	}
	return mem.WriteFile("/"+kfile, data)
}
