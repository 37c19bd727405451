package gitstore

import (
	"bytes"
	"compress/zlib"
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
