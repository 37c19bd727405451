package gitstore

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

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

// writeRollup writes the objects ids as one new pack in packDir, reading
// them from objs one at a time (a roll-up never holds the objects it
// gathers in memory, only 28 bytes of index per object), and returns the
// pack's name. Like writePack, it syncs both files and renames the index
// in first, then the pack, then syncs the folder: only then do the
// objects count as packed.
func writeRollup(ctx context.Context, lock *maintainLock, packDir string, objs storer.EncodedObjectStorer, ids []plumbing.Hash) (name string, err error) {
	f, err := os.CreateTemp(packDir, "tmp_pack_")
	if err != nil {
		return "", err
	}
	tmps := []string{f.Name()}
	defer func() {
		if err != nil {
			for _, t := range tmps {
				_ = os.Remove(t) // best effort: a stray temporary file is harmless
			}
		}
	}()
	entries, sum, err := writeRollupData(ctx, lock, f, objs, ids)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	idx, err := writeTemp(packDir, "tmp_idx_", func(w io.Writer) error {
		_, err := w.Write(encodePackIndex(entries, sum))
		return err
	})
	if idx != "" {
		tmps = append(tmps, idx)
	}
	if err != nil {
		return "", err
	}
	name = "pack-" + hex.EncodeToString(sum)
	base := filepath.Join(packDir, name)
	if err := os.Rename(idx, base+".idx"); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), base+".pack"); err != nil {
		return "", err
	}
	return name, syncDir(packDir)
}

// writeRollupData writes the pack's bytes: header, one whole (undeltified)
// entry per object, checksum.
func writeRollupData(ctx context.Context, lock *maintainLock, w io.Writer, objs storer.EncodedObjectStorer, ids []plumbing.Hash) ([]packIndexEntry, []byte, error) {
	sum := sha1.New()
	bw := bufio.NewWriterSize(w, 1<<20)
	out := io.MultiWriter(bw, sum)
	var hdr [12]byte
	copy(hdr[:], "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(ids)))
	if _, err := out.Write(hdr[:]); err != nil {
		return nil, nil, err
	}
	entries := make([]packIndexEntry, 0, len(ids))
	offset := uint64(len(hdr))
	for i, h := range ids {
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
		rd, err := obj.Reader()
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		data, err := io.ReadAll(rd)
		if cerr := rd.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		e := packEntry(obj.Type(), data)
		if _, err := out.Write(e); err != nil {
			return nil, nil, err
		}
		entries = append(entries, packIndexEntry{id: h, crc: crc32.ChecksumIEEE(e), offset: offset})
		offset += uint64(len(e))
	}
	packSum := sum.Sum(nil)
	if _, err := bw.Write(packSum); err != nil {
		return nil, nil, err
	}
	return entries, packSum, bw.Flush()
}
