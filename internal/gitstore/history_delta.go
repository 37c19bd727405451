package gitstore

import (
	"errors"
)

// applyDelta applies a git delta to base.
func applyDelta(base, delta []byte) ([]byte, error) {
	srcSize, i := deltaSize(delta, 0)
	if i < 0 || srcSize != uint64(len(base)) {
		return nil, errors.New("delta does not fit its base")
	}
	dstSize, i := deltaSize(delta, i)
	// A copy instruction of one byte writes 64 KiB at most: a larger
	// result is not this delta's, and is refused before it is allocated.
	if i < 0 || dstSize > MaxObjectFile*4 || dstSize > uint64(len(delta))<<16 {
		return nil, errors.New("bad delta size")
	}
	out := make([]byte, 0, dstSize)
	for i < len(delta) {
		op := delta[i]
		i++
		switch {
		case op&0x80 != 0:
			var off, n uint64
			for k := range 4 {
				if op&(1<<k) != 0 {
					if i >= len(delta) {
						return nil, errors.New("delta cut short")
					}
					off |= uint64(delta[i]) << (8 * k)
					i++
				}
			}
			for k := range 3 {
				if op&(0x10<<k) != 0 {
					if i >= len(delta) {
						return nil, errors.New("delta cut short")
					}
					n |= uint64(delta[i]) << (8 * k)
					i++
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) {
				return nil, errors.New("delta copies past its base")
			}
			// Checked at each instruction, not at the end: a delta of
			// copies writes 64 KiB a byte.
			if uint64(len(out))+n > dstSize {
				return nil, errors.New("delta writes past its result's size")
			}
			out = append(out, base[off:off+n]...)
		case op != 0:
			if i+int(op) > len(delta) {
				return nil, errors.New("delta cut short")
			}
			if uint64(len(out))+uint64(op) > dstSize {
				return nil, errors.New("delta writes past its result's size")
			}
			out = append(out, delta[i:i+int(op)]...)
			i += int(op)
		default:
			return nil, errors.New("bad delta opcode")
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, errors.New("delta result of the wrong size")
	}
	return out, nil
}

// deltaSize reads a size of a delta's header at i: the size and the
// next index, -1 when cut short.
func deltaSize(b []byte, i int) (uint64, int) {
	var size uint64
	shift := 0
	for {
		if i >= len(b) || shift > 56 {
			return 0, -1
		}
		c := b[i]
		i++
		size |= uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return size, i
		}
	}
}
