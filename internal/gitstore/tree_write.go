package gitstore

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeTree applies edits (paths relative to the tree, nil hash = delete)
// to the tree base (zero for none) and returns the new tree's id; empty
// reports a tree with no entries, which the parent drops. Subtrees without
// edits are kept by id, unread. The trees are edited as bytes (editRaw,
// tree_raw.go); one not in canonical form is decoded (writeTreeDecoded).
func (r *Repo) writeTree(st *staging, base plumbing.Hash, edits map[string]*plumbing.Hash) (id plumbing.Hash, empty bool, err error) {
	// The edits are sorted once by path: those under one folder are then
	// a run of the list, which each level of the recursion hands down as
	// it is, instead of copying every edit into a map per level (a first
	// snapshot's 100,000 files went through four levels of maps).
	sorted := make([]treeEdit, 0, len(edits))
	for p, h := range edits {
		sorted = append(sorted, treeEdit{path: p, hash: h})
	}
	slices.SortFunc(sorted, func(a, b treeEdit) int { return strings.Compare(a.path, b.path) })
	return r.writeTreeSorted(st, base, sorted, 0)
}

// treeEdit is one of writeTree's edits: the file at path gets blob hash,
// or goes when hash is nil.
type treeEdit struct {
	path string
	hash *plumbing.Hash
}

// writeTreeSorted is writeTree with the edits sorted by path, each path
// relative to the tree from byte off on (the bytes before name the tree's
// folder, the same in all).
func (r *Repo) writeTreeSorted(st *staging, base plumbing.Hash, edits []treeEdit, off int) (id plumbing.Hash, empty bool, err error) {
	var raw []byte
	if !base.IsZero() {
		if raw, err = st.treeBytes(base); err != nil {
			return id, false, fmt.Errorf("read tree %s: %w", base, err)
		}
	}
	entries, err := parseRaw(raw)
	if errors.Is(err, errRawTree) {
		m := make(map[string]*plumbing.Hash, len(edits))
		for _, e := range edits {
			m[e.path[off:]] = e.hash
		}
		return r.writeTreeDecoded(st, base, m)
	}
	// The tree's own files first: a folder edited below a name a file
	// edit names replaces that file, and starts from no tree.
	var changes []rawChange
	for _, e := range edits {
		if name := e.path[off:]; strings.IndexByte(name, '/') < 0 {
			c := rawChange{name: name}
			if e.hash != nil {
				c.edit = &rawEdit{name: name, mode: filemode.Regular, hash: *e.hash}
			}
			changes = append(changes, c)
		}
	}
	files := len(changes)
	for i := 0; i < len(edits); {
		dir, _, nested := strings.Cut(edits[i].path[off:], "/")
		if !nested {
			i++
			continue
		}
		// The edits below dir are a run: paths sharing a prefix are
		// contiguous once sorted.
		prefix := edits[i].path[:off+len(dir)+1]
		j := i + 1
		for j < len(edits) && strings.HasPrefix(edits[j].path, prefix) {
			j++
		}
		// The folder's tree as it is once the edits above are made: a
		// file edited or deleted at its name leaves no folder there.
		var old plumbing.Hash
		if _, edited := slices.BinarySearchFunc(changes[:files], dir, compareChange); !edited {
			for _, be := range entries {
				if be.dir && string(raw[be.name:be.nameEnd]) == dir {
					old = be.hash(raw)
					break
				}
			}
		}
		h, empty, err := r.writeTreeSorted(st, old, edits[i:j], len(prefix))
		if err != nil {
			return id, false, err
		}
		c := rawChange{name: dir}
		if !empty {
			c.edit = &rawEdit{name: dir, mode: filemode.Dir, hash: h}
		}
		changes = append(changes, c)
		i = j
	}
	changes = sortChanges(changes, files)
	out, empty, err := editRaw(raw, entries, changes)
	if err != nil {
		return id, false, fmt.Errorf("encode tree: %w", err)
	}
	id = plumbing.ComputeHash(plumbing.TreeObject, out)
	if base != id { // an unchanged tree need not be written again
		obj := &plumbing.MemoryObject{}
		obj.SetType(plumbing.TreeObject)
		_, _ = obj.Write(out) // a MemoryObject's Write cannot fail
		st.objects[id] = obj
		r.cacheTree(id, out)
	}
	return id, empty, nil
}

// sortChanges orders changes by name: the first files of them are the
// files' changes, in order already, and the rest the folders', in the
// order of their paths ("a.b/" before "a/"). A folder's change replaces a
// file's of the same name.
func sortChanges(changes []rawChange, files int) []rawChange {
	f, d := changes[:files], changes[files:]
	slices.SortFunc(d, func(a, b rawChange) int { return strings.Compare(a.name, b.name) })
	if len(f) == 0 || len(d) == 0 {
		return changes
	}
	out := make([]rawChange, 0, len(changes))
	for len(f) > 0 || len(d) > 0 {
		switch {
		case len(d) == 0 || len(f) > 0 && f[0].name < d[0].name:
			out, f = append(out, f[0]), f[1:]
		case len(f) > 0 && f[0].name == d[0].name:
			f = f[1:] // the folder replaces the file
		default:
			out, d = append(out, d[0]), d[1:]
		}
	}
	return out
}

// writeTreeDecoded is writeTree for a base tree not in canonical form:
// it decodes the tree into go-git's entries and encodes it again.
func (r *Repo) writeTreeDecoded(st *staging, base plumbing.Hash, edits map[string]*plumbing.Hash) (id plumbing.Hash, empty bool, err error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := st.tree(base)
		if err != nil {
			return id, false, fmt.Errorf("read tree %s: %w", base, err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	files, sub := splitEdits(edits)
	for p, h := range files {
		if h == nil {
			delete(entries, p)
		} else {
			entries[p] = object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: *h}
		}
	}
	for dir, e := range sub {
		var old plumbing.Hash
		if cur, ok := entries[dir]; ok && cur.Mode == filemode.Dir {
			old = cur.Hash
		}
		h, empty, err := r.writeTree(st, old, e)
		if err != nil {
			return id, false, err
		}
		if empty {
			delete(entries, dir)
		} else {
			entries[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h}
		}
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// git orders tree entries by name, comparing a folder as if its name
	// ended in "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	obj := &plumbing.MemoryObject{}
	if err := t.Encode(obj); err != nil {
		return id, false, fmt.Errorf("encode tree: %w", err)
	}
	if base != obj.Hash() { // an unchanged tree need not be written again
		st.objects[obj.Hash()] = obj
	}
	return obj.Hash(), len(t.Entries) == 0, nil
}

// splitEdits splits a tree's edits into those of its own files and, per
// folder, those below it (paths relative to that folder).
func splitEdits(edits map[string]*plumbing.Hash) (files map[string]*plumbing.Hash, sub map[string]map[string]*plumbing.Hash) {
	files, sub = map[string]*plumbing.Hash{}, map[string]map[string]*plumbing.Hash{}
	for p, h := range edits {
		dir, rest, nested := strings.Cut(p, "/")
		if !nested {
			files[p] = h
			continue
		}
		if sub[dir] == nil {
			sub[dir] = map[string]*plumbing.Hash{}
		}
		sub[dir][rest] = h
	}
	return files, sub
}
