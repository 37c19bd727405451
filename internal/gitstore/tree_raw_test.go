package gitstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// TestWriteTreeRawAsDecoded edits trees at random, adding, changing and
// removing files, replacing files with folders and the other way round,
// and checks that editing the bytes gives the ids decoding, sorting and
// go-git's encoding give.
func TestWriteTreeRawAsDecoded(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), "repo"), Options{Bare: true})
	if err := r.create(); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "a-b", "a.b", "a0", "b", "c", "z"}
	path := func() string {
		p := names[rnd.IntN(len(names))]
		for rnd.IntN(3) == 0 {
			p += "/" + names[rnd.IntN(len(names))]
		}
		return p
	}
	base := plumbing.ZeroHash
	for round := range 300 {
		edits := map[string]*plumbing.Hash{}
		for range 1 + rnd.IntN(6) {
			if rnd.IntN(4) == 0 {
				edits[path()] = nil
				continue
			}
			h := plumbing.ComputeHash(plumbing.BlobObject, fmt.Appendf(nil, "%d", rnd.Int()))
			edits[path()] = &h
		}
		st := r.newStaging()
		got, gotEmpty, err := r.writeTree(st, base, edits)
		if err != nil {
			t.Fatal(err)
		}
		want, wantEmpty, err := r.writeTreeDecoded(r.newStaging(), base, edits)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || gotEmpty != wantEmpty {
			t.Fatalf("round %d: edits %v on %s: tree %s (empty %v), decoding gives %s (empty %v)", round, edits, base, got, gotEmpty, want, wantEmpty)
		}
		if err := st.flush(); err != nil {
			t.Fatal(err)
		}
		if !gotEmpty {
			base = got
		}
	}
}

// TestWriteTreeNotCanonical edits a tree whose modes are spelled with a
// leading zero, as some tools wrote them: it is decoded and written as
// go-git writes it, as before.
func TestWriteTreeNotCanonical(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), "repo"), Options{Bare: true})
	if err := r.create(); err != nil {
		t.Fatal(err)
	}
	blob := plumbing.ComputeHash(plumbing.BlobObject, []byte("x"))
	raw := append([]byte("0100644 a\x00"), blob[:]...)
	st := r.newStaging()
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.TreeObject)
	_, _ = obj.Write(raw)
	st.objects[obj.Hash()] = obj
	if _, err := parseRaw(raw); err == nil {
		t.Fatal("parseRaw took a zero-padded mode")
	}
	edits := map[string]*plumbing.Hash{"b": &blob}
	got, _, err := r.writeTree(st, obj.Hash(), edits)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := r.writeTreeDecoded(st, obj.Hash(), edits)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("tree %s, decoding gives %s", got, want)
	}
	tree, err := object.DecodeTree(r.repo.Storer, st.objects[got])
	if err != nil || len(tree.Entries) != 2 {
		t.Fatalf("tree %v: %v", tree, err)
	}
}

// TestParseRawRefuses lists trees editRaw must not edit as bytes.
func TestParseRawRefuses(t *testing.T) {
	h := plumbing.ComputeHash(plumbing.BlobObject, []byte("x"))
	entry := func(mode, name string) []byte { return append([]byte(mode+" "+name+"\x00"), h[:]...) }
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	for name, raw := range map[string][]byte{
		"unsorted":      cat(entry("100644", "b"), entry("100644", "a")),
		"twice":         cat(entry("100644", "a"), entry("100644", "a")),
		"folder order":  cat(entry("40000", "a"), entry("100644", "a-b")),
		"odd mode":      entry("100664", "a"),
		"no space":      []byte("100644"),
		"no name end":   []byte("100644 a"),
		"empty name":    cat([]byte("100644 \x00"), h[:]),
		"truncated id":  []byte("100644 a\x00abc"),
		"unknown mode":  entry("777", "a"),
		"padded folder": entry("040000", "a"),
	} {
		if _, err := parseRaw(raw); err == nil {
			t.Errorf("%s: parseRaw took %q", name, raw)
		}
	}
	if _, err := parseRaw(cat(entry("100644", "a-b"), entry("40000", "a"))); err != nil {
		t.Errorf("git's order refused: %v", err)
	}
}

// TestWriteTreeNulInName fails as go-git's encoder does.
func TestWriteTreeNulInName(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), "repo"), Options{Bare: true})
	if err := r.create(); err != nil {
		t.Fatal(err)
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, []byte("x"))
	if _, _, err := r.writeTree(r.newStaging(), plumbing.ZeroHash, map[string]*plumbing.Hash{"a\x00b": &h}); err == nil {
		t.Error("a name with a NUL was written")
	}
}

// TestTreeCacheBound drops the oldest trees beyond treeCacheBytes.
func TestTreeCacheBound(t *testing.T) {
	var c treeCache
	big := make([]byte, treeCacheBytes/3+1)
	ids := make([]plumbing.Hash, 4)
	for i := range ids {
		ids[i] = plumbing.ComputeHash(plumbing.TreeObject, []byte{byte(i)})
		c.add(ids[i], big)
	}
	if c.get(ids[0]) != nil || c.get(ids[1]) != nil || c.get(ids[3]) == nil {
		t.Errorf("cache keeps %d trees, %d bytes", len(c.trees), c.size)
	}
	huge := plumbing.ComputeHash(plumbing.TreeObject, []byte("huge"))
	c.add(huge, make([]byte, treeCacheBytes+1))
	if c.get(huge) != nil || c.get(ids[3]) == nil {
		t.Error("a tree larger than the bound was kept")
	}
}

// A folder tree of storedTreeSize or more, written loose after a
// one-file change, is stored uncompressed: git reads it, and its id is
// the one git computes.
func TestLargeLooseTreeReadByGit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	r := open(t, dir, Options{})
	n := storedTreeSize/40 + 100 // entries of about 45 bytes
	changes := make([]snapsync.Change, n)
	for i := range changes {
		changes[i] = add(fmt.Sprintf("namespaces/n/configmaps/obj-%05d.yaml", i), fmt.Sprintf("i: %d\n", i))
	}
	if _, err := r.Commit(t.Context(), changes, "fill\n"); err != nil {
		t.Fatal(err)
	}
	ch := changes[7]
	ch.Op, ch.Data = snapsync.Modified, []byte("changed\n")
	if _, err := r.Commit(t.Context(), []snapsync.Change{ch}, "one\n"); err != nil {
		t.Fatal(err)
	}
	folder := strings.TrimSpace(gitCLI(t, dir, "rev-parse", "HEAD:namespaces/n/configmaps"))
	size := strings.TrimSpace(gitCLI(t, dir, "cat-file", "-s", folder))
	if v, _ := strconv.Atoi(size); v < storedTreeSize {
		t.Fatalf("the folder tree is %s bytes, want %d or more", size, storedTreeSize)
	}
	fi, err := os.Stat(filepath.Join(dir, ".git", "objects", folder[:2], folder[2:]))
	if err != nil {
		t.Fatalf("the folder tree is not loose: %v", err)
	}
	if v, _ := strconv.Atoi(size); fi.Size() < int64(v) {
		t.Errorf("the loose folder tree is %d bytes for %d: compressed", fi.Size(), v)
	}
	gitCLI(t, dir, "fsck", "--strict")
	if got := strings.Count(gitCLI(t, dir, "ls-tree", "HEAD:namespaces/n/configmaps"), "\n"); got != n {
		t.Errorf("git lists %d files, want %d", got, n)
	}
	if got := gitCLI(t, dir, "show", "HEAD:"+ch.Path); got != "changed\n" {
		t.Errorf("%s = %q", ch.Path, got)
	}
}
