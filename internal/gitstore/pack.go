package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// A first snapshot of a large cluster commits every object at once. go-git's
// pack encoder compresses them one after another, after the lists are done;
// here each blob is compressed as soon as the snapshot finds it changed
// (Stage, from the list workers), so that the work overlaps the lists, and
// the commit only lays the compressed entries end to end in git's pack
// format (git's Documentation/gitformat-pack.txt, version 2, no deltas)
// and writes the pack's index.

// packed holds compressed pack entries by object id.
type packed struct {
	mu      gosync.Mutex
	entries map[plumbing.Hash][]byte
}

var zlibWriters = gosync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level cannot fail
	return w
}}

// Stage prepares the file p (relative to the prefix) for the next Commit:
// it compresses data as a blob and, when the branch is checked out, writes
// the file into the worktree already (see stageFile). It is safe for
// concurrent use.
func (r *Repo) Stage(p string, data []byte) {
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	r.stageBlob(h, data)
	r.stageFile(r.full(p), data, h)
}

// stageBlob compresses data for the pack of the next Commit. Data Commit
// then does not write costs only memory until that Commit.
func (r *Repo) stageBlob(h plumbing.Hash, data []byte) {
	r.packed.mu.Lock()
	_, ok := r.packed.entries[h]
	r.packed.mu.Unlock()
	if ok {
		return
	}
	e := packEntry(plumbing.BlobObject, data)
	r.packed.mu.Lock()
	if r.packed.entries == nil {
		r.packed.entries = map[plumbing.Hash][]byte{}
	}
	r.packed.entries[h] = e
	r.packed.mu.Unlock()
}

// packEntry is one object as a pack holds it: a header with its type and
// size, then its zlib-compressed content.
func packEntry(t plumbing.ObjectType, data []byte) []byte {
	var buf bytes.Buffer
	size := uint64(len(data))
	c := byte(t)<<4 | byte(size&0x0f)
	size >>= 4
	for size != 0 {
		buf.WriteByte(c | 0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	buf.WriteByte(c)
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(data) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	zlibWriters.Put(zw)
	return buf.Bytes()
}

// takeStaged returns the entries Stage made and forgets them.
func (r *Repo) takeStaged() map[plumbing.Hash][]byte {
	r.packed.mu.Lock()
	defer r.packed.mu.Unlock()
	staged := r.packed.entries
	r.packed.entries = nil
	return staged
}

// writePack writes objects as one pack, and the pack's index, into dir
// (the repository's objects/pack), using the staged entries where there
// are some. It writes the index itself, as it knows every entry's id,
// offset and checksum, instead of letting go-git read the whole pack back
// and decompress every object to index it (a third of a first snapshot's
// commit time). Both files are synced, then take their final names, the
// index first: go-git finds packs by their .pack files and fails on one
// without an index, while git and go-git ignore an index without its pack.
// So a crash between the two renames leaves a harmless stray index.
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

// packIndexEntry is what a pack index holds of one object.
type packIndexEntry struct {
	id     plumbing.Hash
	crc    uint32 // CRC-32 of the entry as the pack holds it
	offset uint64
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

// encodePackIndex encodes a pack index, version 2 (git's
// Documentation/gitformat-pack.txt): the fan-out table, the sorted ids,
// their CRC-32s, their offsets (those past 2 GiB in a table of 64-bit
// ones), the pack's checksum and the index's own.
func encodePackIndex(entries []packIndexEntry, packSum []byte) []byte {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b packIndexEntry) int { return bytes.Compare(a.id[:], b.id[:]) })
	n := len(entries)
	buf := make([]byte, 0, 8+256*4+n*(20+4+4)+2*20)
	buf = append(buf, 0xff, 't', 'O', 'c', 0, 0, 0, 2)
	var fanout [256]uint32
	for _, e := range entries {
		fanout[e.id[0]]++
	}
	var total uint32
	for _, c := range fanout {
		total += c
		buf = binary.BigEndian.AppendUint32(buf, total)
	}
	for _, e := range entries {
		buf = append(buf, e.id[:]...)
	}
	for _, e := range entries {
		buf = binary.BigEndian.AppendUint32(buf, e.crc)
	}
	var large []uint64
	for _, e := range entries {
		if e.offset < 1<<31 {
			buf = binary.BigEndian.AppendUint32(buf, uint32(e.offset))
			continue
		}
		buf = binary.BigEndian.AppendUint32(buf, 1<<31|uint32(len(large)))
		large = append(large, e.offset)
	}
	for _, o := range large {
		buf = binary.BigEndian.AppendUint64(buf, o)
	}
	buf = append(buf, packSum...)
	sum := sha1.Sum(buf)
	return append(buf, sum[:]...)
}
