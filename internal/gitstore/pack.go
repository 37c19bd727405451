package gitstore

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// writePack writes objects as one pack, and the pack's index, into dir
// (the repository's objects/pack), then installs both (installPack).
func writePack(dir string, objects map[plumbing.Hash]plumbing.EncodedObject) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var entries []packIndexEntry
	var sum []byte
	pack, err := writeTemp(dir, "tmp_pack_", func(w io.Writer) (err error) {
		entries, sum, err = writePackData(w, objects)
		return err
	})
	if err != nil {
		if pack != "" {
			_ = os.Remove(pack) // best effort: a stray temporary file is harmless
		}
		return err
	}
	return installPack(dir, pack, entries, sum)
}

// installPack writes the index of the synced temporary pack file pack
// (entries, checksum sum) and gives both their names in dir. kubesnap
// writes the index itself, as it knows every entry's id, offset and
// checksum, instead of letting go-git read the whole pack back and
// decompress every object to index it (see BENCHMARKS.md). The index is
// synced, then both take their final names, the index first: go-git
// finds packs by their .pack files and fails on one without an index,
// while git and go-git ignore an index without its pack. So a crash
// between the two renames leaves a harmless stray index. If installPack
// fails it removes what it wrote, and the temporary pack.
func installPack(dir, pack string, entries []packIndexEntry, sum []byte) (err error) {
	remove := []string{pack} // removed if installPack fails
	defer func() {
		if err != nil {
			for _, t := range remove {
				_ = os.Remove(t) // best effort: a stray file here is harmless
			}
		}
	}()
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
func writePackData(w io.Writer, objects map[plumbing.Hash]plumbing.EncodedObject) ([]packIndexEntry, []byte, error) {
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
	ps, err := newPackStream(w, len(ids))
	if err != nil {
		return nil, nil, err
	}
	for _, h := range ids {
		obj := objects[h]
		data, err := readObject(obj)
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		if err := ps.add(h, obj.Type(), data); err != nil {
			return nil, nil, err
		}
	}
	return ps.finish()
}

// packStream writes a pack's bytes, whole (undeltified) entries only, to
// a writer as the objects come, and keeps what its index needs.
type packStream struct {
	bw      *bufio.Writer
	out     io.Writer // bw and sum
	sum     hash.Hash
	entries []packIndexEntry
	offset  uint64
}

// newPackStream writes the header of a pack of n objects.
func newPackStream(w io.Writer, n int) (*packStream, error) {
	sum := sha1.New()
	bw := bufio.NewWriterSize(w, 1<<20)
	ps := &packStream{bw: bw, out: io.MultiWriter(bw, sum), sum: sum, entries: make([]packIndexEntry, 0, n), offset: packHeaderSize}
	_, err := ps.out.Write(packHeader(uint32(n)))
	return ps, err
}

// add writes object h of type t.
func (ps *packStream) add(h plumbing.Hash, t plumbing.ObjectType, data []byte) error {
	e := packEntry(t, data)
	if _, err := ps.out.Write(e); err != nil {
		return err
	}
	ps.entries = append(ps.entries, packIndexEntry{id: h, crc: crc32.ChecksumIEEE(e), offset: ps.offset})
	ps.offset += uint64(len(e))
	return nil
}

// addDelta writes object h as a delta against the object this pack
// holds at offset base (an OFS_DELTA entry: its header, the distance back
// to the base in git's offset encoding, the compressed delta).
func (ps *packStream) addDelta(h plumbing.Hash, base uint64, delta []byte) error {
	e := packEntry(plumbing.OFSDeltaObject, delta)
	head := headerLen(e)
	full := appendOffset(append(make([]byte, 0, len(e)+10), e[:head]...), ps.offset-base)
	full = append(full, e[head:]...)
	if _, err := ps.out.Write(full); err != nil {
		return err
	}
	ps.entries = append(ps.entries, packIndexEntry{id: h, crc: crc32.ChecksumIEEE(full), offset: ps.offset})
	ps.offset += uint64(len(full))
	return nil
}

// headerLen is the length of a pack entry's type and size header.
func headerLen(e []byte) int {
	n := 1
	for e[n-1]&0x80 != 0 {
		n++
	}
	return n
}

// finish writes the checksum and returns the index entries and it.
func (ps *packStream) finish() ([]packIndexEntry, []byte, error) {
	packSum := ps.sum.Sum(nil)
	if _, err := ps.bw.Write(packSum); err != nil {
		return nil, nil, err
	}
	return ps.entries, packSum, ps.bw.Flush()
}
