package gitstore

import (
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// snapshotSearch bounds the folders Snapshots reads: it answers an error
// message, and must not read a large repository whole to do it.
const (
	snapshotSearchDepth = 4
	snapshotSearchFiles = 2000
)

// Snapshots lists the folders of the revision's tree that hold a kubesnap
// snapshot (see sync.HoldsSnapshot), "" for the top, in tree order: what
// to give --path when the prefix holds none. It looks at most four folders
// deep.
func (v *Revision) Snapshots() ([]string, error) {
	t, err := v.commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", v.Name, err)
	}
	var out []string
	var walk func(t *object.Tree, dir string, depth int) error
	walk = func(t *object.Tree, dir string, depth int) error {
		holds, err := holdsSnapshot(t)
		if err != nil {
			return err
		}
		if holds {
			out = append(out, dir)
			return nil
		}
		if depth == snapshotSearchDepth {
			return nil
		}
		for _, e := range t.Entries {
			if e.Mode != filemode.Dir {
				continue
			}
			sub, err := t.Tree(e.Name)
			if err != nil {
				return fmt.Errorf("read %s at %s: %w", path.Join(dir, e.Name), v.Name, err)
			}
			if err := walk(sub, path.Join(dir, e.Name), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// holdsSnapshot says whether the folder t holds a snapshot, reading at
// most snapshotSearchFiles of its files under cluster/ and namespaces/.
func holdsSnapshot(t *object.Tree) (bool, error) {
	var paths []string
	for _, e := range t.Entries {
		if e.Mode != filemode.Dir {
			continue
		}
		switch e.Name {
		case ".kubesnap":
			return true, nil
		case "cluster", "namespaces":
		default:
			continue
		}
		sub, err := t.Tree(e.Name)
		if err != nil {
			return false, err
		}
		w := object.NewTreeWalker(sub, true, nil)
		for len(paths) < snapshotSearchFiles {
			name, f, err := w.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				w.Close()
				return false, err
			}
			if f.Mode != filemode.Dir {
				paths = append(paths, e.Name+"/"+name)
			}
		}
		w.Close()
	}
	return snapsync.HoldsSnapshot(paths), nil
}
