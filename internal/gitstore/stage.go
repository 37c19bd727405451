package gitstore

import (
	"bytes"
	"compress/zlib"
	"path/filepath"
	gosync "sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var _ snapsync.Stager = (*Repo)(nil)

// A first snapshot of a large cluster commits every object at once. Stage
// takes each blob as soon as the snapshot finds it changed, from the list
// workers, so that the work overlaps the lists: the first packThreshold
// blobs are kept as they are, and from then on each blob is compressed
// and appended to a temporary pack in objects/pack (stream_pack.go), of
// which memory keeps only each object's id, offset and CRC-32. The
// commit then appends its trees and its commit to that pack and finishes
// it. The snapshot hands such changes to Commit without their bytes
// (Change.Data nil): Commit finds their blobs by path, so no copy of the
// cluster's YAML is held until the commit, by the snapshot or here.

// packed is what Stage prepared for the next Commit.
type packed struct {
	mu     gosync.Mutex
	staged stagedSet
	// noStream is set when the temporary pack could not be created:
	// Stage keeps blobs in memory instead, and does not try again
	// before the next Commit.
	noStream bool
}

// stagedSet is the blobs of one round of Stage calls, taken whole by
// the Commit that follows.
type stagedSet struct {
	paths  map[string]plumbing.Hash // repository path → blob id staged last for it
	raw    map[plumbing.Hash][]byte // blobs kept as they are (before the stream)
	stream *streamPack              // the temporary pack, once there are packThreshold blobs
	err    error                    // why the stream failed to take a blob
}

var zlibWriters = gosync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level cannot fail
	return w
}}

// Stage prepares the file p (relative to the prefix) for the next Commit:
// it stores data as a blob and, when the branch is checked out, writes
// the file into the worktree already (see stageFile). The next Commit
// may then be given the file's change without Data: it takes the blob
// staged last for the path. It is safe for concurrent use; data must not
// change afterwards.
func (r *Repo) Stage(p string, data []byte) {
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	name := r.full(p)
	r.stageBlob(name, h, data)
	r.stageFile(name, data, h)
}

// Unstage forgets what Stage prepared and removes the temporary pack: the
// snapshot that staged it failed or was cancelled. Files Stage wrote into
// the worktree stay under the journal, which the next Commit or Open
// undoes.
func (r *Repo) Unstage() {
	r.settleEarly() // no file lands after the caller moves on
	s := r.takeStaged()
	s.release()
}

// stageBlob records h as the blob of name and stores data, once per id,
// in memory or in the temporary pack.
func (r *Repo) stageBlob(name string, h plumbing.Hash, data []byte) {
	p := &r.packed
	p.mu.Lock()
	s := &p.staged
	if s.paths == nil {
		s.paths, s.raw = map[string]plumbing.Hash{}, map[plumbing.Hash][]byte{}
	}
	s.paths[name] = h
	stream := s.stream
	if stream == nil {
		if _, ok := s.raw[h]; !ok {
			s.raw[h] = data
			if len(s.raw) >= packThreshold && !p.noStream {
				r.startStream()
			}
		}
		p.mu.Unlock()
		return
	}
	skip := s.err != nil || stream.has(h)
	p.mu.Unlock()
	if skip {
		return
	}
	e := packEntry(plumbing.BlobObject, data) // compressed outside the lock
	p.mu.Lock()
	if s.stream == stream && s.err == nil { // not taken by a Commit meanwhile
		s.err = stream.add(h, e)
	}
	p.mu.Unlock()
}

// startStream moves the raw blobs into a new temporary pack, when the
// repository is on disk; r.packed.mu is held. A pack that cannot be
// created leaves the blobs in memory, as they were.
func (r *Repo) startStream() {
	p := &r.packed
	// A first snapshot's repository may not exist yet; stageFile makes
	// it too, under early.mu (taken after packed.mu, never before).
	r.early.mu.Lock()
	err := r.create()
	var onDisk bool
	if err == nil {
		_, onDisk = r.repo.Storer.(*filesystem.Storage)
	}
	r.early.mu.Unlock()
	if !onDisk {
		p.noStream = true
		return
	}
	stream, err := createStreamPack(filepath.Join(r.gitDir(), "objects", "pack"))
	if err != nil {
		p.noStream = true
		return
	}
	for h, data := range p.staged.raw {
		if err := stream.add(h, packEntry(plumbing.BlobObject, data)); err != nil {
			stream.remove()
			p.noStream = true
			return
		}
	}
	p.staged.stream, p.staged.raw = stream, map[plumbing.Hash][]byte{}
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

// takeStaged returns what Stage prepared and forgets it.
func (r *Repo) takeStaged() stagedSet {
	r.packed.mu.Lock()
	defer r.packed.mu.Unlock()
	s := r.packed.staged
	r.packed.staged, r.packed.noStream = stagedSet{}, false
	return s
}

// release removes the temporary pack, unless a commit installed it.
func (s *stagedSet) release() {
	if s.stream != nil {
		s.stream.remove()
		s.stream = nil
	}
}
