package gitstore

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// writePack writes objects as one pack, and the pack's index, into dir
// (the repository's objects/pack), using the staged entries where there
// are some. It writes the index itself, as it knows every entry's id,
// offset and checksum, instead of letting go-git read the whole pack back
// and decompress every object to index it (see BENCHMARKS.md). Both files
// are synced, then take their final names, the index first: go-git finds
// packs by their .pack files and fails on one without an index, while git
// and go-git ignore an index without its pack. So a crash between the two
// renames leaves a harmless stray index.
func writePack(dir string, objects map[plumbing.Hash]plumbing.EncodedObject, staged map[plumbing.Hash][]byte) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var remove []string // removed if writePack fails
	defer func() {
		if err != nil {
			for _, t := range remove {
				_ = os.Remove(t) // best effort: a stray file here is harmless
			}
		}
	}()
	var entries []packIndexEntry
	var sum []byte
	pack, err := writeTemp(dir, "tmp_pack_", func(w io.Writer) (err error) {
		entries, sum, err = writePackData(w, objects, staged)
		return err
	})
	if pack != "" {
		remove = append(remove, pack)
	}
	if err != nil {
		return err
	}
	idx, err := writeTemp(dir, "tmp_idx_", func(w io.Writer) error {
		_, err := w.Write(encodePackIndex(entries, sum))
		return err
	})
	if idx != "" {
		remove = append(remove, idx)
	}
	if err != nil {
		return err
	}
	base := filepath.Join(dir, "pack-"+hex.EncodeToString(sum))
	if err := os.Rename(idx, base+".idx"); err != nil {
		return err
	}
	remove = append(remove, base+".idx")
	if err := os.Rename(pack, base+".pack"); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeTemp writes a new read-only file in dir through write, synced to
// disk, and returns its name ("" if it was not created).
func writeTemp(dir, pattern string, write func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writePackData writes the pack itself: the header, the entries (commits
// and trees first, then blobs, each by id) and the checksum, which it
// returns with the entries' index data.
func writePackData(w io.Writer, objects map[plumbing.Hash]plumbing.EncodedObject, staged map[plumbing.Hash][]byte) ([]packIndexEntry, []byte, error) {
	ids := make([]plumbing.Hash, 0, len(objects))
	for h := range objects {
		ids = append(ids, h)
	}
	slices.SortFunc(ids, func(a, b plumbing.Hash) int {
		ab, bb := objects[a].Type() == plumbing.BlobObject, objects[b].Type() == plumbing.BlobObject
		if ab != bb {
			if bb {
				return -1
			}
			return 1
		}
		return bytes.Compare(a[:], b[:])
	})
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
	for _, h := range ids {
		e, ok := staged[h]
		if !ok {
			obj := objects[h]
			rd, err := obj.Reader()
			if err != nil {
				return nil, nil, fmt.Errorf("read object %s: %w", h, err)
			}
			data, err := io.ReadAll(rd)
			if err != nil {
				return nil, nil, fmt.Errorf("read object %s: %w", h, err)
			}
			e = packEntry(obj.Type(), data)
		}
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
