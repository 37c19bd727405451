package gitstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

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
