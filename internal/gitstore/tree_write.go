package gitstore

import (
	"errors"
	"fmt"
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
	var raw []byte
	if !base.IsZero() {
		if raw, err = st.treeBytes(base); err != nil {
			return id, false, fmt.Errorf("read tree %s: %w", base, err)
		}
	}
	entries, err := parseRaw(raw)
	if errors.Is(err, errRawTree) {
		return r.writeTreeDecoded(st, base, edits)
	}
	changes := map[string]*rawEdit{}
	files, sub := splitEdits(edits)
	for p, h := range files {
		changes[p] = nil
		if h != nil {
			changes[p] = &rawEdit{name: p, mode: filemode.Regular, hash: *h}
		}
	}
	for dir, e := range sub {
		// The folder's tree as it is once the edits above are made: a
		// file edited or deleted at its name leaves no folder there.
		var old plumbing.Hash
		if _, edited := changes[dir]; !edited {
			for _, be := range entries {
				if be.dir && string(raw[be.name:be.nameEnd]) == dir {
					old = be.hash(raw)
					break
				}
			}
		}
		h, empty, err := r.writeTree(st, old, e)
		if err != nil {
			return id, false, err
		}
		changes[dir] = nil
		if !empty {
			changes[dir] = &rawEdit{name: dir, mode: filemode.Dir, hash: h}
		}
	}
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
