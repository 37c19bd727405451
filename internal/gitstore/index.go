package gitstore

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The index is the one file a commit must rewrite whole: git keeps one
// entry per tracked file in it. Two things keep that cheap at 10,000
// files. The decoded index is kept between commits and reread only when
// the file changed under us (a person ran git add). And it is written by
// writeIndex below rather than go-git's encoder, which writes each field
// through reflection and took ~10 ms for 10,000 entries against ~1 ms
// here; go-git still reads it, and writes every index this one cannot.

func (r *Repo) indexPath() string { return filepath.Join(r.dir, ".git", "index") }

// loadIndex returns the index, from memory when the file is still the one
// last written.
func (r *Repo) loadIndex() (*index.Index, error) {
	if r.index != nil {
		if fi, err := os.Stat(r.indexPath()); err == nil && fi.Size() == r.indexSize && fi.ModTime().Equal(r.indexTime) {
			return r.index, nil
		}
	}
	idx, err := r.repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	r.index = idx
	return idx, nil
}

// saveIndex writes idx (its entries sorted by name) and remembers it.
func (r *Repo) saveIndex(idx *index.Index) error {
	r.index = nil
	if err := writeIndex(r.indexPath(), idx); errors.Is(err, errIndexFormat) {
		if err := r.repo.Storer.SetIndex(idx); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	fi, err := os.Stat(r.indexPath())
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	r.index, r.indexSize, r.indexTime = idx, fi.Size(), fi.ModTime()
	return nil
}

// errIndexFormat says an index needs what writeIndex does not write.
var errIndexFormat = errors.New("index needs go-git's encoder")

// writeIndex writes idx in git's index format version 4 (see git's
// Documentation/gitformat-index.txt; git reads it since 1.8.0, go-git too):
// a header, one entry per file with its stat data, blob id and name, and a
// SHA-1 of all of it. Version 4 writes each name as the number of bytes to
// drop from the end of the previous name and the rest, NUL-terminated:
// kubesnap's paths share long prefixes, so the file is a third smaller
// than version 2, and writing and hashing it is what grows with the
// repository in a one-file commit. Extensions (the cache tree, which every change
// invalidates anyway) are left out; git rebuilds them when it needs them.
// It writes to a temporary file and renames it, as git does.
func writeIndex(path string, idx *index.Index) error {
	if idx.Version < 2 || idx.Version > 4 {
		return errIndexFormat
	}
	for _, e := range idx.Entries {
		if e.Stage != 0 || e.SkipWorktree || e.IntentToAdd || len(e.Name) >= 0xFFF {
			return errIndexFormat
		}
	}
	size := 12 + sha1.Size
	for _, e := range idx.Entries {
		size += 62 + 4 + len(e.Name)
	}
	buf := make([]byte, 12, size)
	copy(buf, "DIRC")
	be := binary.BigEndian
	be.PutUint32(buf[4:], 4)
	be.PutUint32(buf[8:], uint32(len(idx.Entries)))
	prev := ""
	for _, e := range idx.Entries {
		csec, cnsec := stamp(e.CreatedAt)
		msec, mnsec := stamp(e.ModifiedAt)
		buf = be.AppendUint32(buf, csec)
		buf = be.AppendUint32(buf, cnsec)
		buf = be.AppendUint32(buf, msec)
		buf = be.AppendUint32(buf, mnsec)
		buf = be.AppendUint32(buf, e.Dev)
		buf = be.AppendUint32(buf, e.Inode)
		buf = be.AppendUint32(buf, uint32(e.Mode))
		buf = be.AppendUint32(buf, e.UID)
		buf = be.AppendUint32(buf, e.GID)
		buf = be.AppendUint32(buf, e.Size)
		buf = append(buf, e.Hash[:]...)
		buf = be.AppendUint16(buf, uint16(len(e.Name)))
		common := 0
		for common < len(prev) && common < len(e.Name) && prev[common] == e.Name[common] {
			common++
		}
		buf = appendOffset(buf, uint64(len(prev)-common))
		buf = append(buf, e.Name[common:]...)
		buf = append(buf, 0)
		prev = e.Name
	}
	sum := sha1.Sum(buf)
	buf = append(buf, sum[:]...)

	tmp, err := os.CreateTemp(filepath.Dir(path), "index.kubesnap-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(buf); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(tmp.Name()))
	}
	if err := tmp.Close(); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return nil
}

// appendOffset appends n in git's offset encoding (varint.c): seven bits a
// byte, most significant first, each continued byte holding one less.
func appendOffset(buf []byte, n uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(n & 0x7f)
	for n >>= 7; n != 0; n >>= 7 {
		n--
		i--
		tmp[i] = 0x80 | byte(n&0x7f)
	}
	return append(buf, tmp[i:]...)
}

func stamp(t time.Time) (sec, nsec uint32) {
	if t.IsZero() || t.Unix() < 0 {
		return 0, 0
	}
	return uint32(t.Unix()), uint32(t.Nanosecond())
}
