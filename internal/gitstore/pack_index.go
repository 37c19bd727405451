package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// packIndexEntry is what a pack index holds of one object.
type packIndexEntry struct {
	id     plumbing.Hash
	crc    uint32 // CRC-32 of the entry as the pack holds it
	offset uint64
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
