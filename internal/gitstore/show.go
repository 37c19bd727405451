package gitstore

import (
	"errors"
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/kubesnap/kubesnap/canonical"
)

// MaxObjectFile bounds the file of one object that show, blame and
// history read: the API server refuses an object of more than about
// 1.5 MiB, so a larger file is none kubesnap wrote, and reading it whole
// (blame keeps every version's lines) could exhaust memory.
const MaxObjectFile = 8 << 20

// NotFoundError says a revision has no file at a path.
type NotFoundError struct {
	Path, Rev string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s is not in revision %s", canonical.Shown(e.Path), e.Rev)
}

// ReadObject returns the file p (relative to the prefix) of the
// revision, refusing what is not an object's file kubesnap could have
// written: a link or a submodule at p or on the way to it, a folder, a
// file larger than MaxObjectFile. A missing file is a *NotFoundError.
func (v *Revision) ReadObject(p string) ([]byte, error) {
	h, err := v.objectEntry(p)
	if err != nil {
		return nil, err
	}
	return v.repo.ReadBlob(h.String())
}

// objectEntry is the blob id of the file p, checked as ReadObject says.
func (v *Revision) objectEntry(p string) (plumbing.Hash, error) {
	if err := checkName(p); err != nil {
		return plumbing.ZeroHash, err
	}
	full := v.repo.full(p)
	if err := v.repo.checkAbove(v.commit, path.Dir(full)); err != nil {
		return plumbing.ZeroHash, err
	}
	t, err := v.commit.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", v.Name, err)
	}
	e, err := t.FindEntry(full)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, &NotFoundError{Path: p, Rev: v.Name}
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s at %s: %w", canonical.Shown(p), v.Name, err)
	}
	switch e.Mode {
	case filemode.Symlink, filemode.Submodule:
		return plumbing.ZeroHash, &LinkError{Path: full, Submodule: e.Mode == filemode.Submodule, Where: "revision " + v.Name}
	case filemode.Dir:
		return plumbing.ZeroHash, fmt.Errorf("%s at %s is a folder, not an object's file", canonical.Shown(p), v.Name)
	}
	return e.Hash, nil
}

// ReadBlob returns the content of the blob id, refusing one larger than
// MaxObjectFile.
func (r *Repo) ReadBlob(id string) ([]byte, error) {
	h := plumbing.NewHash(id)
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s in %s: %w", id, r.dir, err)
	}
	if obj.Size() > MaxObjectFile {
		return nil, fmt.Errorf("blob %.12s is %d bytes, more than the %d MiB an object's file can be: it is no file kubesnap wrote", id, obj.Size(), MaxObjectFile>>20)
	}
	data, err := readObject(obj)
	if err != nil {
		return nil, fmt.Errorf("read blob %s in %s: %w", id, r.dir, err)
	}
	return data, nil
}

// TypeFolder is a folder of one type's objects: a <resource>[.<group>]
// folder under cluster/ or under a namespace's folder.
type TypeFolder struct {
	// Dir is the folder's name: "deployments.apps".
	Dir string
	// Namespaced says it is under namespaces/<ns>/.
	Namespaced bool
	// Folder is one such folder, relative to the prefix, to read a file
	// of.
	Folder string
}

// TypeFolders lists the type folders of the revision, each name once
// per scope, for naming a type without a cluster. A link or a submodule
// on the way is a *LinkError.
func (v *Revision) TypeFolders() ([]TypeFolder, error) {
	var out []TypeFolder
	seen := map[TypeFolder]bool{}
	addDirs := func(dir string, namespaced bool) error {
		if err := v.repo.checkAbove(v.commit, v.repo.full(dir)); err != nil {
			return err
		}
		t, err := v.repo.subtree(v.commit, v.repo.full(dir))
		if err != nil || t == nil {
			return err
		}
		for _, e := range t.Entries {
			key := TypeFolder{Dir: e.Name, Namespaced: namespaced}
			if e.Mode != filemode.Dir || seen[key] {
				continue
			}
			seen[key] = true
			key.Folder = dir + "/" + e.Name
			out = append(out, key)
		}
		return nil
	}
	if err := addDirs("cluster", false); err != nil {
		return nil, err
	}
	if err := v.repo.checkAbove(v.commit, v.repo.full("namespaces")); err != nil {
		return nil, err
	}
	nss, err := v.repo.subtree(v.commit, v.repo.full("namespaces"))
	if err != nil || nss == nil {
		return out, err
	}
	for _, ns := range nss.Entries {
		if ns.Mode != filemode.Dir {
			continue
		}
		if err := addDirs("namespaces/"+ns.Name, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FirstFile is the path (relative to the prefix) of the first regular
// file in folder, "" when it has none.
func (v *Revision) FirstFile(folder string) (string, error) {
	t, err := v.repo.subtree(v.commit, v.repo.full(folder))
	if err != nil || t == nil {
		return "", err
	}
	for _, e := range t.Entries {
		if e.Mode.IsFile() && e.Mode != filemode.Symlink {
			return folder + "/" + e.Name, nil
		}
	}
	return "", nil
}
