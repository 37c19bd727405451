package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Written says where Write put the image.
type Written struct {
	Layout  string   // the OCI image layout folder
	Tarball string   // the tarball docker load reads
	Tag     name.Tag // the tarball's tag
	Digest  v1.Hash  // the image manifest's digest
}

// Write writes img into dir as an OCI image layout, dir/oci, and as a
// tarball tagged Repository:tag, dir/kubesnap.tar, each built beside its
// place and renamed in. It replaces only what it wrote before: an OCI
// layout folder and a regular file; it refuses anything else at those
// paths, and a dir that is a file or a link.
func Write(img v1.Image, dir, tag string) (Written, error) {
	w := Written{Layout: filepath.Join(dir, "oci"), Tarball: filepath.Join(dir, "kubesnap.tar")}
	t, err := name.NewTag(Repository+":"+tag, name.StrictValidation)
	if err != nil {
		return w, fmt.Errorf("tag %q: %w", tag, err)
	}
	w.Tag = t
	if w.Digest, err = img.Digest(); err != nil {
		return w, fmt.Errorf("image digest: %w", err)
	}
	if err := outputDir(dir); err != nil {
		return w, err
	}
	if err := replaceable(w.Layout, true); err != nil {
		return w, err
	}
	if err := replaceable(w.Tarball, false); err != nil {
		return w, err
	}
	if err := writeLayout(img, dir, w.Layout, t); err != nil {
		return w, err
	}
	return w, writeTarball(img, dir, w.Tarball, t)
}

// outputDir makes dir, or checks that it is a folder (not a link to one).
func outputDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("output folder %s: %w", dir, unwrapPath(err))
		}
		return nil
	case err != nil:
		return fmt.Errorf("output folder %s: %w", dir, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("output folder %s is not a folder (a file or a link): remove it or choose another", dir)
	}
	return nil
}

// replaceable checks that path is free, or holds what Write writes
// there: an OCI layout folder (dir), or a regular file.
func replaceable(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if !dir {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file: remove it or choose another output folder", path)
		}
		return nil
	}
	if fi.IsDir() {
		if mark, err := os.Lstat(filepath.Join(path, "oci-layout")); err == nil && mark.Mode().IsRegular() {
			return nil
		}
	}
	return fmt.Errorf("%s is not an OCI image layout this builder wrote: remove it or choose another output folder", path)
}

func writeLayout(img v1.Image, dir, dest string, t name.Tag) error {
	tmp, err := os.MkdirTemp(dir, ".oci-")
	if err != nil {
		return fmt.Errorf("output folder %s: %w", dir, unwrapPath(err))
	}
	// Gone once renamed; left after a failure, it is ours, half written.
	defer func() { _ = os.RemoveAll(tmp) }()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	err = p.AppendImage(img,
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": t.TagStr()}),
		layout.WithPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture}))
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dest, err)
	}
	if err := os.RemoveAll(dest); err != nil {
		return fmt.Errorf("replace %s: %w", dest, unwrapPath(err))
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("replace %s: %w", dest, unwrapPath(err))
	}
	return nil
}

func writeTarball(img v1.Image, dir, dest string, t name.Tag) error {
	f, err := os.CreateTemp(dir, ".kubesnap-*.tar")
	if err != nil {
		return fmt.Errorf("output folder %s: %w", dir, unwrapPath(err))
	}
	defer func() { _ = os.Remove(f.Name()) }() // as above
	err = tarball.Write(t, img, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), dest)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dest, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the path of a *fs.PathError, which the message names
// already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
