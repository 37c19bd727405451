package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/kubesnap/kubesnap/canonical"
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

// NoSnapshotError says the revision holds no kubesnap snapshot below the
// prefix: a repository kubesnap did not write, or one written with --path
// read without it (Elsewhere then names the folders that hold one).
type NoSnapshotError struct {
	Repo, Prefix, Revision string
	Elsewhere              []string
}

func (e *NoSnapshotError) Error() string {
	where := "at the top of repository " + e.Repo
	if e.Prefix != "" {
		where = "under --path " + e.Prefix + " in repository " + e.Repo
	}
	if len(e.Elsewhere) == 0 {
		return fmt.Sprintf("no kubesnap snapshot %s at %s (no .kubesnap/ folder, no object files under cluster/ or namespaces/): give --repo a repository kubesnap snapshot wrote", where, e.Revision)
	}
	var names []string
	for _, d := range e.Elsewhere {
		if d == "" {
			d = "the top (no --path)"
		}
		d = canonical.Shown(d)
		names = append(names, d)
	}
	return fmt.Sprintf("no kubesnap snapshot %s at %s; it holds %s: give --path", where, e.Revision, snapsync.JoinFirst(names, 5))
}

// CheckSnapshot returns a *NoSnapshotError when the revision holds no
// kubesnap snapshot below the prefix.
func (v *Revision) CheckSnapshot() error {
	files, err := v.repo.files(v.commit, v.repo.prefix)
	if err != nil {
		return err
	}
	paths := slices.Collect(maps.Keys(files))
	if snapsync.HoldsSnapshot(paths) {
		return nil
	}
	elsewhere, err := v.Snapshots()
	if err != nil {
		return err
	}
	return &NoSnapshotError{Repo: v.repo.dir, Prefix: v.repo.prefix, Revision: fmt.Sprintf("%s (%.7s)", v.Name, v.Commit()), Elsewhere: elsewhere}
}

// CheckOwned refuses to have kubesnap write into a branch whose files
// below the prefix are not a kubesnap snapshot: a repository of other
// files (the prefix empty), or a folder of them (--path). An empty
// branch, or a prefix no file is under, is free.
func (r *Repo) CheckOwned(ctx context.Context) error {
	files, err := r.Files(ctx)
	if err != nil || len(files) == 0 {
		return err
	}
	paths := slices.Collect(maps.Keys(files))
	if snapsync.HoldsSnapshot(paths) {
		return nil
	}
	sort.Strings(paths)
	for i, p := range paths {
		paths[i] = canonical.Shown(r.full(p))
	}
	if r.prefix == "" {
		return fmt.Errorf("repository %s holds files kubesnap did not write (%s) and no kubesnap snapshot: kubesnap will not write into it; give --path a free folder to keep the cluster there, or another --repo", r.dir, snapsync.JoinFirst(paths, 3))
	}
	return fmt.Errorf("folder %s of repository %s holds files kubesnap did not write (%s): give --path a free folder, or another --repo", r.prefix, r.dir, snapsync.JoinFirst(paths, 3))
}
