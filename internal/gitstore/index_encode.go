package gitstore

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// encodeIndex encodes idx in git's index format version 4 (see git's
// Documentation/gitformat-index.txt; git reads it since 1.8.0, go-git too)
// and returns the offset of each entry in the result too: a header, one
// entry per file with its stat data, blob id and name, and a SHA-1 of all
// of it. Version 4 writes each name as the number of bytes to drop from
// the end of the previous name and the rest, NUL-terminated: kubesnap's
// paths share long prefixes, so the file is smaller than version 2, and
// writing and hashing it is what grows with the repository in a one-file
// commit. Extensions (the cache tree, which every change invalidates
// anyway) are left out; git rebuilds them when it needs them. An index
// this cannot encode (another version, conflicts, skip-worktree or
// intent-to-add entries, names of 0xFFF bytes or more) is errIndexFormat:
// go-git's encoder writes it.
func encodeIndex(idx *index.Index) (buf []byte, at []int, err error) {
	if idx.Version < 2 || idx.Version > 4 {
		return nil, nil, errIndexFormat
	}
	for _, e := range idx.Entries {
		if !patchable(e) {
			return nil, nil, errIndexFormat
		}
	}
	size := 12 + sha1.Size
	for _, e := range idx.Entries {
		size += 62 + 4 + len(e.Name)
	}
	buf = make([]byte, 12, size)
	at = make([]int, len(idx.Entries))
	copy(buf, "DIRC")
	be := binary.BigEndian
	be.PutUint32(buf[4:], 4)
	be.PutUint32(buf[8:], uint32(len(idx.Entries)))
	prev := ""
	for i, e := range idx.Entries {
		at[i] = len(buf)
		buf = appendStat(buf, e)
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
	return buf, at, nil
}

// patchable says encodeIndex can write e.
func patchable(e *index.Entry) bool {
	return e.Stage == 0 && !e.SkipWorktree && !e.IntentToAdd && len(e.Name) < 0xFFF
}

// appendStat appends the 62 bytes of an entry before its name: stat data,
// blob id and flags (the name's length).
func appendStat(buf []byte, e *index.Entry) []byte {
	be := binary.BigEndian
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
	return be.AppendUint16(buf, uint16(len(e.Name)))
}

// patchIndex rewrites, in file (an index encodeIndex wrote, entries at
// at), the entries replaced (indexes into idx.Entries, whose names did not
// change) and the checksum. The names' bytes are untouched: a name keeps
// its place and its length, and version 4 encodes it against the
// previous name only.
func patchIndex(file []byte, at []int, idx *index.Index, replaced []int) ([]byte, error) {
	for _, i := range replaced {
		e := idx.Entries[i]
		if !patchable(e) {
			return nil, errIndexFormat
		}
		appendStat(file[at[i]:at[i]], e) // appends over the old bytes: same length
	}
	sum := sha1.Sum(file[:len(file)-sha1.Size])
	copy(file[len(file)-sha1.Size:], sum[:])
	return file, nil
}

// replaceFile writes buf to a temporary file beside path and renames it
// over path, as git does with its index.
func replaceFile(path string, buf []byte) error {
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
