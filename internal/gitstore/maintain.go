package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var _ snapsync.Maintainer = (*Repo)(nil)

// MaintainOptions tune one maintenance.
type MaintainOptions struct {
	// Grace is how long a replaced pack stays on disk for readers in
	// other processes that listed the packs before the new one came; a
	// later maintenance removes it.
	Grace time.Duration
	// MinLoose is how many loose objects make a pack of their own when
	// the packs need no roll-up; fewer wait for the next maintenance.
	MinLoose int
	// LooseBeside is how many loose objects make a loose pack while
	// another maintenance holds the lock (maintain_loose.go).
	LooseBeside int
}

// DefaultMaintainOptions are the watcher's: replaced packs stay five
// minutes (a diff or restore reads its revision well within that), and a
// few hundred loose objects are worth a pack.
func DefaultMaintainOptions() MaintainOptions {
	return MaintainOptions{Grace: 5 * time.Minute, MinLoose: 256, LooseBeside: DefaultLooseBeside}
}

// Maintain gathers loose objects and small packs into one new pack, so
// that the packs form a geometric progression (see doc.go), then removes
// what the new pack replaced: the loose objects at once, the old packs
// after opts.Grace. With another maintainer at work it packs the loose
// objects alone, once there are opts.LooseBeside (maintain_loose.go). It
// refuses nothing: with nothing to gather, or another loose pack under
// way, it does nothing and says why in Skipped.
//
// It must not run while the same Repo commits or reads: the watcher
// uses PrepareMaintenance instead.
func (r *Repo) Maintain(ctx context.Context, opts MaintainOptions) (snapsync.MaintainResult, error) {
	finish, res, err := r.prepareMaintenance(ctx, opts)
	if err != nil || finish == nil {
		return res, err
	}
	return finish()
}

// PrepareMaintenance is Maintain with DefaultMaintainOptions, in two
// steps: it writes the new pack, reading through its own go-git storage,
// so it may run while the Repo commits and reads in another goroutine;
// the finish it returns swaps the new pack in and must run where the
// Repo is used. It is sync.Maintainer.
func (r *Repo) PrepareMaintenance(ctx context.Context) (func() (snapsync.MaintainResult, error), error) {
	finish, _, err := r.prepareMaintenance(ctx, DefaultMaintainOptions())
	return finish, err
}

// prepareMaintenance takes the lock, chooses what to gather and writes
// the new pack. finish is nil when there is nothing more to do (the lock
// is then released); else finish releases it.
func (r *Repo) prepareMaintenance(ctx context.Context, opts MaintainOptions) (finish func() (snapsync.MaintainResult, error), res snapsync.MaintainResult, err error) {
	if r.repo == nil {
		res.Skipped = "no repository yet"
		return nil, res, nil
	}
	gitDir := r.gitDir()
	lock, err := lockMaintain(gitDir)
	if errors.Is(err, errMaintainLocked) {
		return r.prepareLoosePack(ctx, gitDir, opts)
	}
	if err != nil {
		return nil, res, err
	}
	defer func() {
		if finish == nil {
			r.claims.release()
			lock.release()
		}
	}()
	replaced, err := readReplaced(gitDir)
	if err != nil {
		return nil, res, err
	}
	objDir := filepath.Join(gitDir, "objects")
	before, err := scanObjects(objDir, replaced)
	if err != nil {
		return nil, res, err
	}
	res.PacksBefore, res.SizeBefore = len(before.packs)+before.kept, before.size
	roll := rollUp(before.packs, len(before.loose))
	gather := len(roll) > 0 || len(before.loose) >= max(opts.MinLoose, 1)
	expired := false
	for _, at := range replaced {
		expired = expired || time.Since(at) >= opts.Grace
	}
	if !gather && !expired {
		res.Skipped = "nothing to gather"
		res.PacksAfter, res.PacksWaiting, res.SizeAfter = res.PacksBefore, len(replaced), res.SizeBefore
		return nil, res, nil
	}
	var newPack string
	var loose []plumbing.Hash
	if gather {
		loose = before.loose
		r.claims.claim(loose) // a loose pack beside this one leaves them
		newPack, err = r.writeGathered(ctx, lock, gitDir, loose, roll)
		if err != nil {
			return nil, res, fmt.Errorf("maintain %s: %w", gitDir, err)
		}
		res.LoosePacked = len(loose)
	}
	finish = func() (snapsync.MaintainResult, error) {
		defer lock.release()
		defer r.claims.release()
		return r.finishMaintenance(gitDir, opts, res, replaced, newPack, loose, roll)
	}
	return finish, res, nil
}

// writeGathered writes loose and the objects of roll as one pack.
func (r *Repo) writeGathered(ctx context.Context, lock *maintainLock, gitDir string, loose []plumbing.Hash, roll []packFile) (string, error) {
	set := make(map[plumbing.Hash]bool, len(loose))
	for _, h := range loose {
		set[h] = true
	}
	packDir := filepath.Join(gitDir, "objects", "pack")
	for _, p := range roll {
		if err := packIDs(filepath.Join(packDir, p.name+".idx"), set); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return "", err
	}
	fs, ok := r.repo.Storer.(*filesystem.Storage)
	if !ok {
		return "", fmt.Errorf("%s is not a repository on disk: nothing to maintain", r.dir)
	}
	// A storage of our own: the Repo's go-git storage is not safe for
	// use from two goroutines, and the watcher commits meanwhile. It
	// keeps the packs open: go-git otherwise opens a pack file again
	// for every object it reads from it (a third of a roll-up's time).
	// It does not see the replaced packs (withoutPacks).
	replaced, err := readReplaced(gitDir)
	if err != nil {
		return "", err
	}
	hidden := make(map[string]bool, len(replaced))
	for name := range replaced {
		hidden[name] = true
	}
	own := filesystem.NewStorageWithOptions(withoutPacks{fs.Filesystem(), hidden}, cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	defer own.Close() //nolint:errcheck // read only: nothing is lost
	return writeRollup(ctx, lock, packDir, rescanning{own}, set)
}

// finishMaintenance swaps the new pack in: it records the packs it
// replaced, makes this process's go-git see the new pack, removes the
// loose objects it holds and the replaced packs whose grace is over.
// Every object removed is in the new pack, synced and renamed in.
func (r *Repo) finishMaintenance(gitDir string, opts MaintainOptions, res snapsync.MaintainResult, replaced map[string]time.Time, newPack string, loose []plumbing.Hash, roll []packFile) (snapsync.MaintainResult, error) {
	now := time.Now()
	for _, p := range roll {
		if p.name != newPack {
			replaced[p.name] = now
			res.PacksRolled++
		}
	}
	if res.PacksRolled > 0 {
		if err := writeReplaced(gitDir, replaced); err != nil {
			return res, err
		}
	}
	r.reindex() // before a loose object goes: it must be found in the pack
	objDir := filepath.Join(gitDir, "objects")
	if err := removeLoose(objDir, loose); err != nil {
		return res, err
	}
	removed, err := removeReplaced(gitDir, replaced, opts.Grace, now)
	res.PacksRemoved = removed
	if removed > 0 {
		r.reindex()
		if werr := writeReplaced(gitDir, replaced); err == nil {
			err = werr
		}
	}
	if err != nil {
		return res, err
	}
	err = countAfter(objDir, replaced, &res)
	return res, err
}

// countAfter sets res's counts of the packs and bytes on disk once a
// maintenance is done.
func countAfter(objDir string, replaced map[string]time.Time, res *snapsync.MaintainResult) error {
	after, err := scanObjects(objDir, replaced)
	if err != nil {
		return err
	}
	res.PacksAfter, res.PacksWaiting, res.SizeAfter = len(after.packs)+after.kept, len(replaced), after.size
	return nil
}

// reindex makes go-git read the pack indexes again.
func (r *Repo) reindex() {
	if fs, ok := r.repo.Storer.(*filesystem.Storage); ok {
		fs.Reindex()
	}
}
