package gitstore

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
)

// streamPack is a pack being written as its objects come: a temporary
// file in objects/pack (tmp_pack_*) that starts with a header whose
// object count is a placeholder, then each entry as it is added. finish
// writes the count into the header, appends the checksum, which it
// computes by reading the file once, writes the index and gives both
// their names. Until then the file is only a tmp_pack_ file, which git
// and go-git never read (git gc's prune removes old ones), so a process
// killed while it writes leaves nothing but that file. Memory holds only
// each object's id, offset and CRC-32.
type streamPack struct {
	dir     string
	name    string // the temporary file
	f       *os.File
	w       *bufio.Writer
	offset  uint64
	ids     map[plumbing.Hash]struct{}
	entries []packIndexEntry
}

// packHeaderSize is the pack header's length: "PACK", version, count.
const packHeaderSize = 12

// createStreamPack starts a temporary pack in dir.
func createStreamPack(dir string) (*streamPack, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "tmp_pack_")
	if err != nil {
		return nil, err
	}
	s := &streamPack{dir: dir, name: f.Name(), f: f, w: bufio.NewWriterSize(f, 1<<20), offset: packHeaderSize, ids: map[plumbing.Hash]struct{}{}}
	if _, err := s.w.Write(packHeader(0)); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

// packHeader is the header of a version 2 pack of n objects.
func packHeader(n uint32) []byte {
	hdr := make([]byte, 0, packHeaderSize)
	hdr = append(hdr, "PACK"...)
	hdr = binary.BigEndian.AppendUint32(hdr, 2)
	return binary.BigEndian.AppendUint32(hdr, n)
}

// has reports whether the pack holds object h already.
func (s *streamPack) has(h plumbing.Hash) bool {
	if s == nil {
		return false
	}
	_, ok := s.ids[h]
	return ok
}

// add appends the pack entry e of object h, unless the pack has it.
func (s *streamPack) add(h plumbing.Hash, e []byte) error {
	if s.has(h) {
		return nil
	}
	if _, err := s.w.Write(e); err != nil {
		return err
	}
	s.ids[h] = struct{}{}
	s.entries = append(s.entries, packIndexEntry{id: h, crc: crc32.ChecksumIEEE(e), offset: s.offset})
	s.offset += uint64(len(e))
	return nil
}

// finish adds objects, completes the pack and installs it with its index
// (see installPack). The file is removed if finish fails.
func (s *streamPack) finish(objects map[plumbing.Hash]plumbing.EncodedObject) (err error) {
	defer func() {
		if err != nil {
			s.remove()
		}
	}()
	for h, obj := range objects {
		if s.has(h) {
			continue
		}
		data, err := readObject(obj)
		if err != nil {
			return fmt.Errorf("read object %s: %w", h, err)
		}
		if err := s.add(h, packEntry(obj.Type(), data)); err != nil {
			return err
		}
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.WriteAt(packHeader(uint32(len(s.entries))), 0); err != nil {
		return err
	}
	sum := sha1.New()
	if _, err := io.Copy(sum, io.NewSectionReader(s.f, 0, int64(s.offset))); err != nil {
		return fmt.Errorf("checksum the pack: %w", err)
	}
	packSum := sum.Sum(nil)
	if _, err := s.f.WriteAt(packSum, int64(s.offset)); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	if err := s.f.Chmod(0o444); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return err
	}
	s.f = nil
	return installPack(s.dir, s.name, s.entries, packSum)
}

// remove closes and deletes the temporary pack.
func (s *streamPack) remove() {
	if s.f != nil {
		_ = s.f.Close() // the file goes anyway
		s.f = nil
	}
	_ = os.Remove(s.name) // best effort: a stray tmp_pack_ file is harmless
}

// readObject returns the content of obj.
func readObject(obj plumbing.EncodedObject) ([]byte, error) {
	rd, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}
