package gitstore

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// The packs history reads with its own reader may come from a remote
// anyone with push access writes: these tests give it hostile packs and
// indexes. Any bytes must give an error (the walk then reads through
// go-git), never a panic, a loop or an allocation beyond the object
// limit.

// packSeeds builds a small repository with kubesnap's commits and
// returns its packs, as git writes them with OFS_DELTA and REF_DELTA
// entries and as kubesnap's maintenance writes them: [pack, index]
// pairs.
func packSeeds(t testing.TB) [][2][]byte {
	t.Helper()
	dir := t.TempDir()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Files of a few lines, each commit changing one: git stores the
	// versions as deltas.
	lines := func(i, v int) string {
		var b strings.Builder
		for k := range 12 {
			fmt.Fprintf(&b, "key%d: value %d of object %d\n", k, v*(k%3), i)
		}
		return b.String()
	}
	var changes []snapsync.Change
	for i := range 3 {
		changes = append(changes, add(fmt.Sprintf("namespaces/ns/configmaps/cm-%d.yaml", i), lines(i, 0)))
	}
	if _, err := r.Commit(t.Context(), changes, "fill\n"); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 4; v++ {
		c := changes[v%3]
		c.Op, c.Data = snapsync.Modified, []byte(lines(v%3, v))
		if _, err := r.Commit(t.Context(), []snapsync.Change{c}, fmt.Sprintf("change %d\n", v)); err != nil {
			t.Fatal(err)
		}
	}
	var seeds [][2][]byte
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, readPacks(t, dir)...)
	gitTB(t, dir, "-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq")
	seeds = append(seeds, readPacks(t, dir)...)
	gitTB(t, dir, "repack", "-adfq")
	return append(seeds, readPacks(t, dir)...)
}

// gitTB runs git in dir.
func gitTB(t testing.TB, dir string, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// readPacks returns the packs of the repository dir and their indexes.
func readPacks(t testing.TB, dir string) [][2][]byte {
	t.Helper()
	idxs, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.idx"))
	if err != nil || len(idxs) == 0 {
		t.Fatalf("no pack in %s: %v", dir, err)
	}
	var out [][2][]byte
	for _, idx := range idxs {
		i, err := os.ReadFile(idx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := os.ReadFile(strings.TrimSuffix(idx, ".idx") + ".pack")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2][]byte{p, i})
	}
	return out
}

// readAllListed writes pack and idx in a git folder of its own and
// reads every object the index lists, as readListed.
func readAllListed(t *testing.T, pack, idx []byte) (read, failed int) {
	t.Helper()
	dir := t.TempDir()
	writeHistoryPack(t, dir, pack, idx)
	hp := openHistoryPacks(dir)
	defer hp.close()
	return readListed(hp)
}

// writeHistoryPack writes pack and idx as the one pack of the git
// folder dir.
func writeHistoryPack(t testing.TB, dir string, pack, idx []byte) {
	t.Helper()
	folder := filepath.Join(dir, "objects", "pack")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "pack-f.pack"), pack, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "pack-f.idx"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzHistoryPack gives the reader mutated packs and indexes, parsed
// from memory (the files and their mapping are openHistoryPack's, tested
// by the tests that follow): any bytes, and no panic, no loop.
func FuzzHistoryPack(f *testing.F) {
	for _, s := range packSeeds(f) {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pack, idx []byte) {
		p, err := parseHistoryPack(idx, pack)
		if err != nil {
			return
		}
		hp := &historyPacks{packs: []*historyPack{p}, bases: map[baseKey][]byte{}}
		readListed(hp)
	})
}

// readListed reads every object the index lists (at most 256) with the
// history reader, whole and cut: errors are fine, a panic is not.
func readListed(hp *historyPacks) (read, failed int) {
	for _, p := range hp.packs {
		for i := 0; i < len(p.names)/20 && i < 256; i++ {
			var h plumbing.Hash
			copy(h[:], p.names[i*20:])
			if _, err := hp.read(h, plumbing.BlobObject); err != nil {
				failed++
			} else {
				read++
			}
			_, _, _ = hp.readPrefix(h, plumbing.CommitObject, 16)
		}
	}
	return read, failed
}

// TestHistoryPackSeedsReadWhole checks the fuzzer's seeds are packs the
// reader reads, deltas of both kinds included: a seed it refused would
// leave the fuzzer mutating bytes that never reach the delta code.
func TestHistoryPackSeedsReadWhole(t *testing.T) {
	kinds := map[plumbing.ObjectType]bool{}
	for _, s := range packSeeds(t) {
		if read, _ := readAllListed(t, s[0], s[1]); read == 0 {
			t.Fatal("a seed pack read nothing")
		}
		dir := t.TempDir()
		writeHistoryPack(t, dir, s[0], s[1])
		hp := openHistoryPacks(dir)
		p := hp.packs[0]
		for i := range len(p.names) / 20 {
			var h plumbing.Hash
			copy(h[:], p.names[i*20:])
			e, err := p.entry(p.offset(h))
			if err != nil {
				t.Fatal(err)
			}
			kinds[e.typ] = true
			// Every object reads as one of the four types (blobs as blobs).
			if _, err := hp.read(h, plumbing.BlobObject); err != nil && !strings.Contains(err.Error(), ", not a blob") {
				t.Errorf("read %s: %v", h, err)
			}
		}
		hp.close()
	}
	if !kinds[plumbing.OFSDeltaObject] || !kinds[plumbing.REFDeltaObject] {
		t.Errorf("the seeds hold no OFS_DELTA or no REF_DELTA: %v", kinds)
	}
}

// hostileObject is one entry of a pack built by hand: its id in the
// index and its bytes in the pack (nil: listed in the index at offset
// alone).
type hostileObject struct {
	id     string // 40 hex digits
	raw    []byte
	offset uint32 // used when raw is nil
}

// hostilePack builds a pack of objs and its version 2 index.
func hostilePack(objs []hostileObject) (pack, idx []byte) {
	pack = []byte("PACK\x00\x00\x00\x02")
	pack = binary.BigEndian.AppendUint32(pack, uint32(len(objs)))
	type entry struct {
		h   plumbing.Hash
		off uint32
	}
	var entries []entry
	for _, o := range objs {
		off := o.offset
		if o.raw != nil {
			off = uint32(len(pack))
			pack = append(pack, o.raw...)
		}
		entries = append(entries, entry{plumbing.NewHash(o.id), off})
	}
	pack = append(pack, make([]byte, 20)...)
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].h[:], entries[j].h[:]) < 0 })
	idx = []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}
	for b := range 256 {
		n := 0
		for _, e := range entries {
			if int(e.h[0]) <= b {
				n++
			}
		}
		idx = binary.BigEndian.AppendUint32(idx, uint32(n))
	}
	for _, e := range entries {
		idx = append(idx, e.h[:]...)
	}
	idx = append(idx, make([]byte, 4*len(entries))...) // CRCs
	for _, e := range entries {
		idx = binary.BigEndian.AppendUint32(idx, e.off)
	}
	return pack, append(idx, make([]byte, 40)...)
}

// objHeader is a pack entry's header: type and size.
func objHeader(typ plumbing.ObjectType, size uint64) []byte {
	b := []byte{byte(typ)<<4 | byte(size&15)}
	for size >>= 4; size > 0; size >>= 7 {
		b[len(b)-1] |= 0x80
		b = append(b, byte(size&0x7f))
	}
	return b
}

// deflated is data zlib-compressed.
func deflated(data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = w.Write(data)
	_ = w.Close()
	return b.Bytes()
}

// whole is a pack entry of an object stored whole.
func whole(typ plumbing.ObjectType, data []byte) []byte {
	return append(objHeader(typ, uint64(len(data))), deflated(data)...)
}

// refDelta is a REF_DELTA entry on base.
func refDelta(base string, delta []byte) []byte {
	h := plumbing.NewHash(base)
	return append(append(objHeader(plumbing.REFDeltaObject, uint64(len(delta))), h[:]...), deflated(delta)...)
}

// ofsDelta is an OFS_DELTA entry rel bytes after its base.
func ofsDelta(rel int, delta []byte) []byte {
	return append(append(objHeader(plumbing.OFSDeltaObject, uint64(len(delta))), ofsBytes(rel)...), deflated(delta)...)
}

// ofsBytes is an OFS_DELTA's distance as git writes it: big-endian
// groups of 7 bits, each but the last one less than it says.
func ofsBytes(rel int) []byte {
	b := []byte{byte(rel & 0x7f)}
	for rel >>= 7; rel > 0; rel >>= 7 {
		rel--
		b = append([]byte{0x80 | byte(rel&0x7f)}, b...)
	}
	return b
}

// hostileID is the id made of the byte b repeated.
func hostileID(b byte) string {
	return strings.Repeat(fmt.Sprintf("%02x", b), 20)
}

func TestHistoryPacksRefuseHostilePacks(t *testing.T) {
	a, b, c := hostileID(0xa0), hostileID(0xb0), hostileID(0xc0)
	blob := whole(plumbing.BlobObject, []byte("abcd"))
	// An OFS_DELTA right after blob (at offset 12): rel = len(blob).
	rel := len(blob)
	for _, tt := range []struct {
		name string
		objs []hostileObject
		want string // in the error of reading a; "" for errNotInPacks
	}{
		{"REF_DELTA loop", []hostileObject{{id: a, raw: refDelta(b, []byte{1, 1, 1, 'x'})}, {id: b, raw: refDelta(a, []byte{1, 1, 1, 'y'})}}, "delta chain too long"},
		{"REF_DELTA on itself", []hostileObject{{id: a, raw: refDelta(a, []byte{1, 1, 1, 'x'})}}, "delta chain too long"},
		{"REF_DELTA to a missing base", []hostileObject{{id: a, raw: refDelta(c, []byte{1, 1, 1, 'x'})}}, ""},
		{"OFS_DELTA at itself", []hostileObject{{id: a, raw: ofsDelta(0, []byte{1, 1, 1, 'x'})}}, "bad delta offset"},
		{"OFS_DELTA before the pack", []hostileObject{{id: a, raw: ofsDelta(100, []byte{1, 1, 1, 'x'})}}, "bad delta offset"},
		{"OFS_DELTA cut short", []hostileObject{{id: a, raw: objHeader(plumbing.OFSDeltaObject, 4)}}, "bad delta offset"},
		{"copy past the base", []hostileObject{{id: b, raw: blob}, {id: a, raw: ofsDelta(rel, []byte{4, 4, 0x91, 2, 8})}}, "copies past its base"},
		{"write past the result's size", []hostileObject{{id: b, raw: blob}, {id: a, raw: ofsDelta(rel, []byte{4, 2, 0x90, 4, 0x90, 4})}}, "past its result's size"},
		{"delta on a base of another size", []hostileObject{{id: b, raw: blob}, {id: a, raw: ofsDelta(rel, []byte{9, 1, 1, 'x'})}}, "does not fit its base"},
		{"size bomb", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 1<<40), deflated(nil)...)}}, "object of"},
		{"size beyond its compressed bytes", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 4*MaxObjectFile), deflated(nil)...)}}, "object of"},
		{"size past 64 bits", []hostileObject{{id: a, raw: bytes.Repeat([]byte{0xff}, 12)}}, "bad object header"},
		{"inflates to less than declared", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 10), deflated([]byte("ab"))...)}}, "inflate"},
		{"corrupt zlib stream", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 4), 0x78, 0x9c, 0xff, 0xff, 0xff)}}, "inflate"},
		{"bad zlib header", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 4), 0x12, 0x34)}}, "bad zlib header"},
		{"object type 5", []hostileObject{{id: a, raw: whole(5, []byte("abcd"))}}, "bad object type 5"},
		{"object type 0", []hostileObject{{id: a, raw: whole(0, []byte("abcd"))}}, "bad object type 0"},
		{"offset past the end", []hostileObject{{id: a, offset: 1 << 20}}, "offset outside the pack"},
		{"offset in the pack's header", []hostileObject{{id: a, offset: 3}}, "offset outside the pack"},
		{"large offset out of the table", []hostileObject{{id: a, offset: 0x80000005}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pack, idx := hostilePack(tt.objs)
			_, err := readHostile(t, pack, idx, a)
			switch {
			case tt.want == "" && !errors.Is(err, errNotInPacks):
				t.Errorf("read = %v, want %v", err, errNotInPacks)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("read = %v, want %q", err, tt.want)
			}
		})
	}
}

// readHostile reads object id (as a blob) from pack and idx, and says
// how many bytes it allocated meanwhile.
func readHostile(t *testing.T, pack, idx []byte, id string) (allocated uint64, err error) {
	t.Helper()
	dir := t.TempDir()
	writeHistoryPack(t, dir, pack, idx)
	hp := openHistoryPacks(dir)
	defer hp.close()
	if len(hp.packs) != 1 {
		t.Fatalf("the pack was not opened")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = hp.read(plumbing.NewHash(id), plumbing.BlobObject)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// A pack of a few bytes declaring large objects allocates nothing near
// their size: the sizes are refused first.
func TestHistoryPacksAllocateNoDeclaredSize(t *testing.T) {
	a := hostileID(0xa0)
	big := bytes.Repeat([]byte{0}, 1<<16)
	blob := whole(plumbing.BlobObject, big)
	// A delta declaring a result of 64 KiB, then copying its base of 64
	// KiB ten thousand times: 640 MB were it not checked at each copy.
	delta := []byte{0x80, 0x80, 0x04, 0x80, 0x80, 0x04}
	delta = append(delta, bytes.Repeat([]byte{0x80}, 10000)...)
	for _, tt := range []struct {
		name string
		objs []hostileObject
		want string
	}{
		{"32 MiB declared, 8 bytes given", []hostileObject{{id: a, raw: append(objHeader(plumbing.BlobObject, 4*MaxObjectFile), deflated(nil)...)}}, "object of"},
		{"a delta's result declared 32 MiB", []hostileObject{{id: hostileID(0xb0), raw: blob}, {id: a, raw: ofsDelta(len(blob), []byte{0x80, 0x80, 0x04, 0x80, 0x80, 0x80, 0x10, 0x80})}}, "bad delta size"},
		{"copies past the result's size", []hostileObject{{id: hostileID(0xb0), raw: blob}, {id: a, raw: ofsDelta(len(blob), delta)}}, "past its result's size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pack, idx := hostilePack(tt.objs)
			allocated, err := readHostile(t, pack, idx, a)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("read = %v, want %q", err, tt.want)
			}
			if allocated > 4<<20 {
				t.Errorf("%v after allocating %d bytes", err, allocated)
			}
		})
	}
}

// A chain of deltas longer than git writes is refused, not followed to
// its end: a thousand and more OFS_DELTA entries, each on the one before.
func TestHistoryPacksRefuseALongDeltaChain(t *testing.T) {
	objs := []hostileObject{{id: hostileID(1), raw: whole(plumbing.BlobObject, []byte("a"))}}
	prev := len(objs[0].raw)
	for i := range maxDeltaDepth + 10 {
		raw := ofsDelta(prev, []byte{1, 1, 1, 'b'})
		prev = len(raw)
		id := fmt.Sprintf("%02x%038x", 2+i%250, i)
		objs = append(objs, hostileObject{id: id, raw: raw})
	}
	pack, idx := hostilePack(objs)
	last := objs[len(objs)-1].id
	if _, err := readHostile(t, pack, idx, last); err == nil || !strings.Contains(err.Error(), "delta chain too long") {
		t.Errorf("read = %v", err)
	}
	// The 500th is within the bound: it reads.
	if _, err := readHostile(t, pack, idx, objs[500].id); err != nil {
		t.Errorf("the 500th: %v", err)
	}
}

// Indexes that lie: a count past the file's end, a fanout that goes
// down, offsets past the large-offset table or negative.
func TestHistoryPacksRefuseHostileIndexes(t *testing.T) {
	a, b := hostileID(0xa0), hostileID(0xb0)
	pack, idx := hostilePack([]hostileObject{{id: a, raw: whole(plumbing.BlobObject, []byte("abcd"))}, {id: b, raw: whole(plumbing.BlobObject, []byte("efgh"))}})
	edit := func(f func(idx []byte) []byte) []byte { return f(append([]byte(nil), idx...)) }
	fanout := func(i int) int { return 8 + 4*i }
	for _, tt := range []struct {
		name   string
		idx    []byte
		opened bool
	}{
		{"count past the file", edit(func(x []byte) []byte {
			binary.BigEndian.PutUint32(x[fanout(255):], 1<<31)
			return x
		}), false},
		{"count of 2^32-1", edit(func(x []byte) []byte {
			binary.BigEndian.PutUint32(x[fanout(255):], 0xffffffff)
			return x
		}), false},
		{"fanout going down", edit(func(x []byte) []byte {
			binary.BigEndian.PutUint32(x[fanout(0xaf):], 2)
			for i := 0xb0; i < 0xff; i++ {
				binary.BigEndian.PutUint32(x[fanout(i):], 1)
			}
			return x
		}), true},
		{"fanout past the count", edit(func(x []byte) []byte {
			binary.BigEndian.PutUint32(x[fanout(0xa0):], 1000)
			return x
		}), true},
		{"cut in the offsets", idx[:len(idx)-41], false},
		{"negative large offset", edit(func(x []byte) []byte {
			at := 8 + 256*4 + 2*24
			binary.BigEndian.PutUint32(x[at:], 0x80000000)
			large := binary.BigEndian.AppendUint64(nil, 1<<63)
			return append(x[:len(x)-40], append(large, make([]byte, 40)...)...)
		}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeHistoryPack(t, dir, pack, tt.idx)
			hp := openHistoryPacks(dir)
			defer hp.close()
			if got := len(hp.packs) == 1; got != tt.opened {
				t.Fatalf("opened = %v, want %v", got, tt.opened)
			}
			// An object is read as it is, or not at one.
			for id, want := range map[string]string{a: "abcd", b: "efgh", hostileID(0xa5): ""} {
				if got, err := hp.read(plumbing.NewHash(id), plumbing.BlobObject); err == nil && string(got) != want {
					t.Errorf("%s read as %q", id, got)
				}
			}
		})
	}
}

// A repository whose pack is damaged anywhere: history reads through
// go-git what its reader refuses, and ends with the changes or an
// error, never a panic.
func TestHistoryOfADamagedPackEndsWithAnError(t *testing.T) {
	dir := t.TempDir()
	r, _ := historyRepo(t, dir, 20, 10)
	if _, err := r.Maintain(t.Context(), MaintainOptions{MinLoose: 1}); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "repack", "-adfq")
	packs, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs %v: %v", packs, err)
	}
	intact, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	path := "namespaces/ns-01/configmaps/cm-0001.yaml"
	errs := 0
	for at := 12; at < len(intact)-20; at += len(intact) / 40 {
		damaged := append([]byte(nil), intact...)
		damaged[at] ^= 0x5a
		if err := os.WriteFile(packs[0], damaged, 0o644); err != nil {
			t.Fatal(err)
		}
		rd := open(t, dir, Options{ReadOnly: true})
		if err := rd.History(path, HistoryOptions{Contents: true}, func(ObjectChange) error { return nil }); err != nil {
			errs++
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("byte %d: an error of more than one line: %v", at, err)
			}
		}
	}
	t.Logf("%d damaged packs gave an error", errs)
}

// The bound on declared sizes leaves every object deflate can write: 8
// MiB of zeros, compressed as well as zlib can, reads back.
func TestHistoryPacksReadTheMostCompressedObject(t *testing.T) {
	a := hostileID(0xa0)
	data := make([]byte, MaxObjectFile)
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw := append(objHeader(plumbing.BlobObject, uint64(len(data))), b.Bytes()...)
	pack, idx := hostilePack([]hostileObject{{id: a, raw: raw}})
	dir := t.TempDir()
	writeHistoryPack(t, dir, pack, idx)
	hp := openHistoryPacks(dir)
	defer hp.close()
	got, err := hp.read(plumbing.NewHash(a), plumbing.BlobObject)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%d compressed): %v", len(got), b.Len(), err)
	}
	t.Logf("%d bytes from %d: %d to 1", len(data), b.Len(), len(data)/b.Len())
}
