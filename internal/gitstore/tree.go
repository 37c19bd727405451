package gitstore

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// subtree returns the tree at dir ("" for the root) of c, or nil.
func (r *Repo) subtree(c *object.Commit, dir string) (*object.Tree, error) {
	if c == nil {
		return nil, nil
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	if dir == "" {
		return t, nil
	}
	t, err = t.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", dir, c.Hash, err)
	}
	return t, nil
}

// walkTree calls fn for every entry but folders below dir of c (regular
// files, links and submodules), with its path relative to dir. A folder
// on the way to dir that is a link or a submodule is a *LinkError: the
// files below it are not where the revision seems to keep them.
func (r *Repo) walkTree(c *object.Commit, dir string, fn func(name string, e object.TreeEntry) error) error {
	if err := r.checkAbove(c, dir); err != nil {
		return err
	}
	t, err := r.subtree(c, dir)
	if err != nil || t == nil {
		return err
	}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk %s: %w", dir, err)
		}
		if e.Mode == filemode.Dir {
			continue
		}
		if err := fn(name, e); err != nil {
			return err
		}
	}
}

// checkAbove refuses a link or a submodule at dir or a folder above it in
// c.
func (r *Repo) checkAbove(c *object.Commit, dir string) error {
	if c == nil || dir == "" {
		return nil
	}
	t, err := c.Tree()
	if err != nil {
		return fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	segs := strings.Split(dir, "/")
	for i := range segs {
		p := strings.Join(segs[:i+1], "/")
		e, err := t.FindEntry(p)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", p, c.Hash, err)
		}
		if e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
			return &LinkError{Path: p, Submodule: e.Mode == filemode.Submodule, Where: "commit " + c.Hash.String()[:12]}
		}
		if e.Mode != filemode.Dir {
			return nil
		}
	}
	return nil
}

// files lists path → blob id of the files below dir of c, paths relative
// to dir. A link or a submodule there is a *LinkError naming it: kubesnap
// neither follows one when reading a revision nor writes through one.
func (r *Repo) files(c *object.Commit, dir string) (map[string]string, error) {
	out := map[string]string{}
	err := r.walkTree(c, dir, func(name string, e object.TreeEntry) error {
		if e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
			full := name
			if dir != "" {
				full = dir + "/" + name
			}
			return &LinkError{Path: full, Submodule: e.Mode == filemode.Submodule, Where: "commit " + c.Hash.String()[:12]}
		}
		out[name] = e.Hash.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
