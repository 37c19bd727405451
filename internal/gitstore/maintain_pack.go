package gitstore

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// packIDs adds the ids a pack's index lists to ids.
func packIDs(idxPath string, ids map[plumbing.Hash]bool) error {
	f, err := os.Open(idxPath)
	if err != nil {
		return fmt.Errorf("read pack index %s: %w", idxPath, err)
	}
	defer f.Close() //nolint:errcheck // read only
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return fmt.Errorf("read pack index %s: %w", idxPath, err)
	}
	it, err := idx.Entries()
	if err != nil {
		return fmt.Errorf("read pack index %s: %w", idxPath, err)
	}
	defer it.Close() //nolint:errcheck // in memory
	for {
		e, err := it.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read pack index %s: %w", idxPath, err)
		}
		ids[e.Hash] = true
	}
}

// writeRollup writes the objects of set as one new pack in packDir,
// reading them from objs one at a time (a roll-up holds of the objects
// it gathers only their ids and index entries, and the data of the few
// most recent, as delta bases), and returns the pack's name. Like
// writePack, it syncs both files and renames the index in first, then
// the pack, then syncs the folder: only then do the objects count as
// packed.
func writeRollup(ctx context.Context, lock *maintainLock, packDir string, objs storer.EncodedObjectStorer, set map[plumbing.Hash]bool) (string, error) {
	plan, err := planRollup(objs, set)
	if err != nil {
		return "", err
	}
	var entries []packIndexEntry
	var sum []byte
	pack, err := writeTemp(packDir, "tmp_pack_", func(w io.Writer) (err error) {
		entries, sum, err = writeRollupData(ctx, lock, w, objs, plan)
		return err
	})
	if err != nil {
		if pack != "" {
			_ = os.Remove(pack) // best effort: a stray temporary file is harmless
		}
		return "", err
	}
	if err := installPack(packDir, pack, entries, sum); err != nil {
		return "", err
	}
	return "pack-" + hex.EncodeToString(sum), nil
}

// writeRollupData writes the pack's bytes: header, the objects in the
// plan's order, each as a delta against its planned base where that is
// at most half its size and whole otherwise, and the checksum.
func writeRollupData(ctx context.Context, lock *maintainLock, w io.Writer, objs storer.EncodedObjectStorer, plan rollupPlan) ([]packIndexEntry, []byte, error) {
	ps, err := newPackStream(w, len(plan.order))
	if err != nil {
		return nil, nil, err
	}
	isBase := make(map[plumbing.Hash]bool, len(plan.base))
	for _, b := range plan.base {
		isBase[b] = true
	}
	offsets := make(map[plumbing.Hash]uint64, len(isBase))
	recent := newDataCache(deltaCacheBytes)
	for i, h := range plan.order {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			lock.refresh()
		}
		obj, err := objs.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		data, err := readObject(obj)
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		if isBase[h] {
			offsets[h] = ps.offset
			recent.put(h, data)
		}
		if b, ok := plan.base[h]; ok {
			delta, err := deltaAgainst(objs, recent, b, data)
			if err != nil {
				return nil, nil, err
			}
			if delta != nil {
				if err := ps.addDelta(h, offsets[b], delta); err != nil {
					return nil, nil, err
				}
				continue
			}
		}
		if err := ps.add(h, obj.Type(), data); err != nil {
			return nil, nil, err
		}
	}
	return ps.finish()
}
