package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// A one-file commit rewrites every tree on the file's path, and the
// folder holding the file is as large as the objects of one type in one
// namespace: 4,800 entries, 200 kB, at 300,000 objects in 50 namespaces.
// Decoding such a tree into go-git's entries, sorting them and encoding
// them again made the commit's cost grow with the repository. editRaw
// works on the tree's bytes instead: unchanged entries are copied as they
// are, in their order, and only the edited ones are encoded. The result
// is byte for byte what decoding, editing, sorting and go-git's encoding
// give (so tree ids do not change), as long as the base tree is as go-git
// writes it: modes in their canonical spelling, entries in git's order,
// no name twice. parseRaw checks that, and writeTree falls back to
// decoding a tree that is not.

// rawEntry is one entry of an encoded tree: its bytes raw[start:end()],
// its name raw[name:nameEnd], then a NUL and the id. Offsets are 32-bit,
// which bounds a tree to 2 GiB: a 300,000-object repository lists 16
// bytes an entry, not 56.
type rawEntry struct {
	start, name, nameEnd int32
	dir                  bool
}

func (e rawEntry) end() int { return int(e.nameEnd) + 1 + len(plumbing.ZeroHash) }

// hash is the id the entry e of raw names.
func (e rawEntry) hash(raw []byte) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], raw[e.nameEnd+1:e.end()])
	return h
}

// canonicalModes are the modes as go-git writes them (%o of the mode it
// decodes them to): a tree with any other spelling is decoded instead.
var canonicalModes = map[string]filemode.FileMode{
	"40000":  filemode.Dir,
	"100644": filemode.Regular,
	"100755": filemode.Executable,
	"120000": filemode.Symlink,
	"160000": filemode.Submodule,
}

// errRawTree says a tree is not as go-git writes it: writeTree decodes it.
var errRawTree = errors.New("tree not in canonical form")

// parseRaw lists the entries of the encoded tree raw, or errRawTree when
// it is not in canonical form (see above) or is malformed.
func parseRaw(raw []byte) ([]rawEntry, error) {
	if len(raw) >= 1<<31 {
		return nil, errRawTree
	}
	// An entry is at least 28 bytes ("40000 " or more, a name, a NUL, an
	// id); kubesnap's are about 43.
	out := make([]rawEntry, 0, len(raw)/40+1)
	var prev, key []byte
	for i := 0; i < len(raw); {
		sp := bytes.IndexByte(raw[i:], ' ')
		if sp < 0 {
			return nil, errRawTree
		}
		mode, ok := canonicalModes[string(raw[i:i+sp])]
		if !ok {
			return nil, errRawTree
		}
		name := i + sp + 1
		nul := bytes.IndexByte(raw[name:], 0)
		if nul <= 0 {
			return nil, errRawTree
		}
		nameEnd := name + nul
		end := nameEnd + 1 + len(plumbing.ZeroHash)
		if end > len(raw) {
			return nil, errRawTree
		}
		e := rawEntry{start: int32(i), name: int32(name), nameEnd: int32(nameEnd), dir: mode == filemode.Dir}
		key = append(append(key[:0], raw[name:nameEnd]...), sortSuffix(e.dir)...)
		if len(out) > 0 && bytes.Compare(prev, key) >= 0 {
			return nil, errRawTree // out of order, or a name twice
		}
		prev, key = key, prev
		out = append(out, e)
		i = end
	}
	return out, nil
}

// sortSuffix is what git appends to a name to order it: "/" for a folder.
func sortSuffix(dir bool) string {
	if dir {
		return "/"
	}
	return ""
}

// rawEdit is an entry editRaw writes: mode, name and id.
type rawEdit struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e rawEdit) key() string { return e.name + sortSuffix(e.mode == filemode.Dir) }

// rawChange is what editRaw does to the entry name: writes edit, or
// removes the entry when edit is nil.
type rawChange struct {
	name string
	edit *rawEdit
}

func compareChange(c rawChange, name string) int { return strings.Compare(c.name, name) }

// editRaw returns the tree raw (entries listed by parseRaw) with the
// entries named in changes (sorted by name, each name once) replaced by
// their edit, or removed when it is nil, and reports whether it has no
// entries.
func editRaw(raw []byte, entries []rawEntry, changes []rawChange) ([]byte, bool, error) {
	added := make([]rawEdit, 0, len(changes))
	for _, c := range changes {
		if c.edit == nil {
			continue
		}
		if strings.IndexByte(c.edit.name, 0) >= 0 {
			return nil, false, fmt.Errorf("malformed filename %q", c.edit.name)
		}
		added = append(added, *c.edit)
	}
	// Names order as keys but for folders (see sortSuffix): a folder's
	// change may have to move.
	slices.SortFunc(added, func(a, b rawEdit) int { return strings.Compare(a.key(), b.key()) })
	out := make([]byte, 0, len(raw)+len(added)*64)
	n := 0
	appendEdit := func(c rawEdit) {
		out = strconv.AppendUint(out, uint64(c.mode), 8)
		out = append(out, ' ')
		out = append(out, c.name...)
		out = append(out, 0)
		out = append(out, c.hash[:]...)
		n++
	}
	var key []byte
	for _, e := range entries {
		if _, edited := slices.BinarySearchFunc(changes, string(raw[e.name:e.nameEnd]), compareChange); edited {
			continue
		}
		key = append(append(key[:0], raw[e.name:e.nameEnd]...), sortSuffix(e.dir)...)
		for len(added) > 0 && added[0].key() < string(key) {
			appendEdit(added[0])
			added = added[1:]
		}
		out = append(out, raw[e.start:e.end()]...)
		n++
	}
	for _, c := range added {
		appendEdit(c)
	}
	return out, n == 0, nil
}

// treeCacheBytes bounds the trees kept by treeCache: the folders a
// watcher's commits touch, a few hundred kB each at 300,000 objects.
const treeCacheBytes = 32 << 20

// treeCache keeps the encoded trees commits wrote or read last, by id,
// so that the next commit to the same folder neither reads nor inflates
// it. Trees are never changed in place: editRaw writes a new one.
type treeCache struct {
	trees map[plumbing.Hash][]byte
	order []plumbing.Hash // oldest first
	size  int
}

// get returns the tree h, or nil.
func (c *treeCache) get(h plumbing.Hash) []byte { return c.trees[h] }

// add keeps tree h, dropping the oldest trees beyond treeCacheBytes.
func (c *treeCache) add(h plumbing.Hash, raw []byte) {
	if c.trees == nil {
		c.trees = map[plumbing.Hash][]byte{}
	}
	if _, ok := c.trees[h]; ok || len(raw) > treeCacheBytes {
		return
	}
	c.trees[h] = raw
	c.order = append(c.order, h)
	c.size += len(raw)
	for c.size > treeCacheBytes {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.trees[old])
		delete(c.trees, old)
	}
}

// cacheTree keeps the encoded tree h for the next commits.
func (r *Repo) cacheTree(h plumbing.Hash, raw []byte) {
	r.treesMu.Lock()
	defer r.treesMu.Unlock()
	r.trees.add(h, raw)
}

// treeBytes returns the encoded tree h: from the trees kept, from the
// objects staged so far (see tree), else from the repository. The bytes
// are shared: they must not be changed.
func (s *staging) treeBytes(h plumbing.Hash) ([]byte, error) {
	s.repo.treesMu.Lock()
	raw := s.repo.trees.get(h)
	s.repo.treesMu.Unlock()
	if raw != nil {
		return raw, nil
	}
	obj, ok := s.objects[h]
	if !ok {
		var err error
		if obj, err = s.repo.repo.Storer.EncodedObject(plumbing.TreeObject, h); err != nil {
			return nil, err
		}
	}
	if obj.Type() != plumbing.TreeObject {
		return nil, fmt.Errorf("%s is a %s, not a tree", h, obj.Type())
	}
	raw, err := readObject(obj)
	if err != nil {
		return nil, err
	}
	s.repo.cacheTree(h, raw)
	return raw, nil
}
