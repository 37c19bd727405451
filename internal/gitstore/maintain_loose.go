package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	gosync "sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// A roll-up that reaches the oldest packs rewrites the whole history and
// may take minutes; a watcher committing fast meanwhile leaves six loose
// objects a commit. So while one maintainer holds the maintenance lock,
// PrepareMaintenance writes a loose pack instead: the loose objects that
// came since, alone, in a pack of their own, under a lock of its own
// (looseLockName). It rolls up no pack and never touches the list of
// replaced packs, so it cannot undo what the roll-up records; the two
// only share loose objects, and each removes only what its own synced,
// renamed pack holds. The loose objects the roll-up in this process
// listed are left to it (maintClaims), so the two packs do not both
// hold them; a roll-up in another process is not known here, and the
// loose pack may then hold some of its objects too (space, until the
// next roll-up gathers both).

// DefaultLooseBeside is how many loose objects make a loose pack while
// another maintenance runs: with the objects the roll-up holds and those
// a pack's writing lets come, the watcher stays well under 2,000 loose
// objects at any commit pace (see BENCHMARKS.md, "Endurance").
const DefaultLooseBeside = 512

// maintClaims is the loose objects the maintenance holding the lock in
// this process gathers, from its listing to its finish.
type maintClaims struct {
	mu    gosync.Mutex
	loose map[plumbing.Hash]bool // nil when none is under way
}

// claim records the loose objects of the maintenance starting now.
func (c *maintClaims) claim(loose []plumbing.Hash) {
	set := make(map[plumbing.Hash]bool, len(loose))
	for _, h := range loose {
		set[h] = true
	}
	c.mu.Lock()
	c.loose = set
	c.mu.Unlock()
}

// release forgets them: the maintenance finished or failed.
func (c *maintClaims) release() {
	c.mu.Lock()
	c.loose = nil
	c.mu.Unlock()
}

// unclaimed returns the objects of loose no maintenance in this process
// gathers.
func (c *maintClaims) unclaimed(loose []plumbing.Hash) []plumbing.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := loose[:0:0]
	for _, h := range loose {
		if !c.loose[h] {
			out = append(out, h)
		}
	}
	return out
}

// prepareLoosePack writes a loose pack while another maintenance holds
// the lock. finish is nil when there is nothing to do (or another loose
// pack is under way); else it removes the packed loose objects and
// releases the loose pack's lock.
func (r *Repo) prepareLoosePack(ctx context.Context, gitDir string, opts MaintainOptions) (finish func() (snapsync.MaintainResult, error), res snapsync.MaintainResult, err error) {
	lock, err := lockFile(gitDir, looseLockName)
	if errors.Is(err, errMaintainLocked) {
		res.Skipped = "another maintenance is running"
		return nil, res, nil
	}
	if err != nil {
		return nil, res, err
	}
	defer func() {
		if finish == nil {
			lock.release()
		}
	}()
	objDir := filepath.Join(gitDir, "objects")
	replaced, err := readReplaced(gitDir)
	if err != nil {
		return nil, res, err
	}
	before, err := scanObjects(objDir, replaced)
	if err != nil {
		return nil, res, err
	}
	res.PacksBefore, res.SizeBefore = len(before.packs)+before.kept, before.size
	loose := r.claims.unclaimed(before.loose)
	if len(loose) < max(opts.LooseBeside, 1) {
		res.Skipped = "another maintenance is running"
		return nil, res, nil
	}
	if _, err := r.writeGathered(ctx, lock, gitDir, loose, nil); err != nil {
		return nil, res, fmt.Errorf("maintain %s, a pack of the loose objects: %w", gitDir, err)
	}
	res.LoosePacked = len(loose)
	finish = func() (snapsync.MaintainResult, error) {
		defer lock.release()
		r.reindex() // before a loose object goes: it must be found in the pack
		if err := removeLoose(objDir, loose); err != nil {
			return res, err
		}
		err := countAfter(objDir, replaced, &res)
		return res, err
	}
	return finish, res, nil
}

// removeLoose removes the loose objects loose, which a synced pack that
// go-git has been made to see holds. One gone already (another
// maintainer's pack held it too) is passed by.
func removeLoose(objDir string, loose []plumbing.Hash) error {
	for _, h := range loose {
		hex := h.String()
		if err := os.Remove(filepath.Join(objDir, hex[:2], hex[2:])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove packed loose object %s: %w", h, err)
		}
	}
	return nil
}

// rescanning is a maintainer's own go-git storage that reads the pack
// list again when an object cannot be read, and tries once more: another
// maintainer (a loose pack beside a roll-up, or a roll-up beside a loose
// pack) may have packed a loose object this one planned to read, and
// removed its file, or removed a replaced pack whose grace ended, since
// this storage listed the packs.
type rescanning struct {
	*filesystem.Storage
}

// EncodedObject is the storage's, retried once after a rescan.
func (s rescanning) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	obj, err := s.Storage.EncodedObject(t, h)
	if err == nil {
		return obj, nil
	}
	s.Reindex()
	return s.Storage.EncodedObject(t, h)
}
