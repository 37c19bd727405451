package gitstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// A history walk reads three or four small objects per commit, a
// hundred thousand commits in a second: go-git's storage spends more on
// each object (a seek, a buffered reader, a scanner, a fresh inflater,
// an object cache) than the inflation itself costs. historyPacks reads
// the pack files directly instead: the index in memory, each object by
// one positioned read, inflated by one reused zlib reader, deltas
// applied to bases kept by offset. It only reads: an object it does not
// find in the packs it listed (a loose object, a pack written since) is
// read through go-git's storage, and anything it does not understand
// (an index of another version, a corrupt entry) makes the walk fall
// back to go-git for that object.

// historyBaseBytes bounds the delta bases a walk keeps.
const historyBaseBytes = 32 << 20

// historyPacks is the repository's packs as one walk reads them.
type historyPacks struct {
	packs []*historyPack
	last  int // the pack of the last object found: the next is often there
	// inflated counts the objects inflated, for the benchmark.
	inflated  int
	zr        io.ReadCloser // reused: flate.Resetter
	src       bytes.Reader  // reused: a ByteReader, so zlib adds no buffer
	bases     map[baseKey][]byte
	order     []baseKey
	baseBytes int
}

type baseKey struct {
	pack   *historyPack
	offset int64
}

// historyPack is one pack and its index (version 2).
type historyPack struct {
	data   []byte // the pack, mapped into memory
	unmap  func()
	fanout [256]uint32
	names  []byte // 20 bytes an object, sorted
	small  []byte // 4 bytes an object, big-endian; MSB set: index into large
	large  []byte // 8 bytes an entry
}

// openHistoryPacks opens the packs of the git folder gitDir that have
// an index; a pack it cannot read is left to go-git. close closes them.
func openHistoryPacks(gitDir string) *historyPacks {
	hp := &historyPacks{bases: map[baseKey][]byte{}}
	idxs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "pack-*.idx"))
	for _, idx := range idxs {
		p, err := openHistoryPack(idx)
		if err != nil {
			continue
		}
		hp.packs = append(hp.packs, p)
	}
	// The largest first: it holds most objects.
	sort.Slice(hp.packs, func(i, j int) bool { return len(hp.packs[i].names) > len(hp.packs[j].names) })
	return hp
}

// fork is a reader of the same packs with state of its own, for another
// goroutine; only hp closes the packs.
func (hp *historyPacks) fork() *historyPacks {
	return &historyPacks{packs: hp.packs, bases: map[baseKey][]byte{}}
}

func (hp *historyPacks) close() {
	for _, p := range hp.packs {
		p.unmap()
	}
}

func openHistoryPack(idx string) (p *historyPack, err error) {
	// Mapped, not read: the index of a long history is tens of MB, of
	// which a walk touches a few pages per lookup.
	index, unmapIdx, err := mapFile(idx)
	if err != nil {
		return nil, err
	}
	data, unmapPack, err := mapFile(idx[:len(idx)-len(".idx")] + ".pack")
	if err != nil {
		unmapIdx()
		return nil, err
	}
	unmap := func() { unmapPack(); unmapIdx() }
	if p, err = parseHistoryPack(index, data); err != nil {
		unmap()
		return nil, err
	}
	p.unmap = unmap
	return p, nil
}

// parseHistoryPack reads the index (version 2) of the pack data; the
// tables it keeps are slices of index.
func parseHistoryPack(index, data []byte) (*historyPack, error) {
	if len(index) < 8+256*4 || !bytes.Equal(index[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		return nil, errors.New("not a version 2 pack index")
	}
	p := &historyPack{data: data, unmap: func() {}}
	for i := range p.fanout {
		p.fanout[i] = binary.BigEndian.Uint32(index[8+4*i:])
	}
	// The count is the file's to say: checked against the file's length
	// in 64 bits, so no count can overflow an int (on a 32-bit build).
	n := int(p.fanout[255])
	at := 8 + 256*4
	if uint64(len(index)) < uint64(at)+uint64(p.fanout[255])*(20+4+4)+40 {
		return nil, errors.New("pack index too short")
	}
	p.names = index[at : at+20*n]
	at += 20*n + 4*n // the CRCs are not read
	p.small = index[at : at+4*n]
	at += 4 * n
	p.large = index[at : len(index)-40]
	if len(data) < 12+20 || string(data[:4]) != "PACK" {
		return nil, errors.New("not a pack")
	}
	return p, nil
}

// offset is the offset of object h in the pack, or -1.
func (p *historyPack) offset(h plumbing.Hash) int64 {
	i := p.find(h)
	if i < 0 {
		return -1
	}
	off := binary.BigEndian.Uint32(p.small[i*4:])
	if off&0x80000000 == 0 {
		return int64(off)
	}
	j := uint64(off &^ 0x80000000)
	if 8*j+8 > uint64(len(p.large)) {
		return -1
	}
	return int64(binary.BigEndian.Uint64(p.large[8*j:])) // negative: at refuses it
}

// find is the position of h in the index, or -1. Object ids are evenly
// spread, so the search starts where h would be if they were evenly
// spaced (interpolation), then halves: a plain binary search of a
// 600,000-object index missed the processor's cache at every step and
// was a sixth of a walk.
func (p *historyPack) find(h plumbing.Hash) int {
	lo := 0
	if h[0] > 0 {
		lo = int(p.fanout[h[0]-1])
	}
	end := int(p.fanout[h[0]])
	if lo > end || end > len(p.names)/20 {
		return -1
	}
	key := binary.BigEndian.Uint64(h[:8])
	at := func(i int) uint64 { return binary.BigEndian.Uint64(p.names[i*20:]) }
	hi := end
	for step := 0; lo < hi; step++ {
		mid := int(uint(lo+hi) >> 1)
		if step < 3 && hi-lo > 8 {
			// Interpolate between the keys at lo and hi-1.
			a, b := at(lo), at(hi-1)
			switch {
			case key <= a:
				mid = lo
			case key > b:
				lo = hi
				continue
			default:
				mid = lo + int(float64(key-a)/float64(b-a)*float64(hi-1-lo))
			}
		}
		if at(mid) < key {
			lo = mid + 1
		} else {
			hi = mid
			if step < 3 && mid > lo && at(mid-1) < key {
				lo = mid // the first of its key: found the place
			}
		}
	}
	for i := lo; i < end && at(i) == key; i++ {
		if bytes.Equal(p.names[i*20:i*20+20], h[:]) {
			return i
		}
	}
	return -1
}

// errNotInPacks says an object is in none of the packs listed.
var errNotInPacks = errors.New("not in the packs listed")

// read returns the content of object h of type t from the packs, or
// errNotInPacks.
func (hp *historyPacks) read(h plumbing.Hash, t plumbing.ObjectType) ([]byte, error) {
	data, _, err := hp.readPrefix(h, t, 0)
	return data, err
}

// readPrefix is read with the content cut at limit bytes (0: none) when
// the object is stored whole: a commit's header without its message,
// which may list 500 files. whole says nothing was cut.
func (hp *historyPacks) readPrefix(h plumbing.Hash, t plumbing.ObjectType, limit int) (data []byte, whole bool, err error) {
	for k := range hp.packs {
		n := (hp.last + k) % len(hp.packs)
		p := hp.packs[n]
		off := p.offset(h)
		if off < 0 {
			continue
		}
		hp.last = n
		typ, data, whole, err := hp.at(p, off, 0, limit)
		if err != nil {
			return nil, false, err
		}
		if typ != t {
			return nil, false, fmt.Errorf("object %s is a %s, not a %s", h, typ, t)
		}
		return data, whole, nil
	}
	return nil, false, errNotInPacks
}

// maxDeltaDepth bounds a delta chain: git writes 50 at most; a longer
// one (or a loop) is a corrupt pack.
const maxDeltaDepth = 1000

// at reads the object at off in p: its type and content, deltas
// applied; an object stored whole is cut at limit bytes (0: none), and
// whole says it was not.
func (hp *historyPacks) at(p *historyPack, off int64, depth, limit int) (typ plumbing.ObjectType, data []byte, whole bool, err error) {
	if depth > maxDeltaDepth {
		return 0, nil, false, errors.New("delta chain too long")
	}
	e, err := p.entry(off)
	if err != nil {
		return 0, nil, false, err
	}
	n, whole := e.size, true
	if e.typ != plumbing.OFSDeltaObject && e.typ != plumbing.REFDeltaObject {
		if limit > 0 && n > limit {
			n, whole = limit, false
		}
		data, err = hp.inflate(e.src, n)
		return e.typ, data, whole, err
	}
	// The base first, then the delta: while a chain resolves its bases
	// no level holds its inflated delta (a chain of a thousand deltas of
	// 32 MiB each would hold 32 GB), and a looping chain fails before
	// inflating anything.
	var baseType plumbing.ObjectType
	var base []byte
	if e.baseOff >= 0 {
		baseType, base, err = hp.base(p, e.baseOff, depth)
	} else {
		baseType, base, err = hp.refBase(e.baseHash, depth)
	}
	if err != nil {
		return 0, nil, false, err
	}
	if data, err = hp.inflate(e.src, n); err != nil {
		return 0, nil, false, err
	}
	out, err := applyDelta(base, data)
	return baseType, out, true, err
}

// historyEntry is an object's entry in a pack, as its header says: its
// type, its size inflated, its base (an offset, -1 when the base is
// named by baseHash) and the compressed bytes after the header.
type historyEntry struct {
	typ      plumbing.ObjectType
	size     int
	baseOff  int64
	baseHash plumbing.Hash
	src      []byte
}

// maxDeflateRatio is the most deflate can expand a byte into (a 258-byte
// match coded in 2 bits is 1,032 to 1): a size declared beyond it is not
// the compressed bytes', and is refused before anything is allocated.
const maxDeflateRatio = 1032

// entry reads the header of the object at off in p, every length and
// offset it gives checked against the pack.
func (p *historyPack) entry(off int64) (e historyEntry, err error) {
	if off < 12 || off >= int64(len(p.data)) {
		return e, errors.New("offset outside the pack")
	}
	head := p.data[off:]
	typ, size, i := historyObjectHeader(head)
	if i == 0 {
		return e, errors.New("bad object header")
	}
	e.typ, e.baseOff = typ, -1
	switch typ {
	case plumbing.OFSDeltaObject:
		rel, k := ofsDeltaOffset(head[i:])
		if k == 0 || rel <= 0 || rel > off {
			return e, errors.New("bad delta offset")
		}
		e.baseOff, i = off-rel, i+k
	case plumbing.REFDeltaObject:
		if len(head) < i+20 {
			return e, errors.New("bad delta base")
		}
		copy(e.baseHash[:], head[i:i+20])
		i += 20
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return e, fmt.Errorf("bad object type %d", typ)
	}
	e.src = head[i:]
	if size > MaxObjectFile*4 || size > uint64(len(e.src))*maxDeflateRatio+1024 {
		return e, fmt.Errorf("object of %d bytes", size)
	}
	e.size = int(size)
	return e, nil
}

// base is the object at off in p, kept for the next delta on it.
func (hp *historyPacks) base(p *historyPack, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	key := baseKey{p, off}
	if b, ok := hp.bases[key]; ok {
		return plumbing.ObjectType(b[0]), b[1:], nil
	}
	typ, data, _, err := hp.at(p, off, depth+1, 0)
	if err != nil {
		return 0, nil, err
	}
	for len(hp.order) > 0 && hp.baseBytes+len(data) > historyBaseBytes {
		hp.baseBytes -= len(hp.bases[hp.order[0]])
		delete(hp.bases, hp.order[0])
		hp.order = hp.order[1:]
	}
	hp.baseBytes += len(data) + 1
	hp.bases[key] = append([]byte{byte(typ)}, data...)
	hp.order = append(hp.order, key)
	return typ, data, nil
}

// refBase is the base a REF_DELTA names, in any pack.
func (hp *historyPacks) refBase(h plumbing.Hash, depth int) (plumbing.ObjectType, []byte, error) {
	for _, p := range hp.packs {
		if off := p.offset(h); off >= 0 {
			return hp.base(p, off, depth)
		}
	}
	return 0, nil, errNotInPacks
}

// inflate returns the size bytes zlib-compressed at the start of src.
// The zlib header is checked here and the deflate stream read raw: the
// checksum at its end is not read (go-git does not check it either;
// what is read is the object's size exactly).
func (hp *historyPacks) inflate(src []byte, size int) ([]byte, error) {
	if len(src) < 2 || src[0]&0x0f != 8 || (uint16(src[0])<<8|uint16(src[1]))%31 != 0 || src[1]&0x20 != 0 {
		return nil, errors.New("bad zlib header")
	}
	hp.inflated++
	hp.src.Reset(src[2:])
	if hp.zr == nil {
		hp.zr = flate.NewReader(&hp.src)
	} else if err := hp.zr.(flate.Resetter).Reset(&hp.src, nil); err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(hp.zr, out); err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	return out, nil
}

// historyObjectHeader reads an object's type and size: the number of bytes used,
// 0 when the header is cut short.
func historyObjectHeader(b []byte) (plumbing.ObjectType, uint64, int) {
	if len(b) == 0 {
		return 0, 0, 0
	}
	typ := plumbing.ObjectType((b[0] >> 4) & 7)
	size := uint64(b[0] & 15)
	shift := 4
	i := 1
	for c := b[0]; c&0x80 != 0; i++ {
		if i >= len(b) || shift > 56 {
			return 0, 0, 0
		}
		c = b[i]
		size |= uint64(c&0x7f) << shift
		shift += 7
	}
	return typ, size, i
}

// ofsDeltaOffset reads an OFS_DELTA's distance back to its base.
func ofsDeltaOffset(b []byte) (int64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	off := int64(c & 0x7f)
	i := 1
	for c&0x80 != 0 {
		if i >= len(b) || off > 1<<55 {
			return 0, 0
		}
		c = b[i]
		off = ((off + 1) << 7) | int64(c&0x7f)
		i++
	}
	return off, i
}
