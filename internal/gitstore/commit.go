package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Commit writes changes as one commit on the branch head: it stores the
// new blobs, rewrites only the trees on the changed paths, and moves the
// branch (refusing if someone else moved it meanwhile). When the branch is
// checked out it also brings the changed files and their index entries up
// to date, so that git status stays clean.
func (r *Repo) Commit(ctx context.Context, changes []snapsync.Change, message string) (string, error) {
	if err := r.create(); err != nil {
		return "", err
	}
	parent, err := r.head()
	if err != nil {
		return "", err
	}
	edits := map[string]*plumbing.Hash{}
	for _, c := range changes {
		if c.Op == snapsync.Deleted {
			edits[r.full(c.Path)] = nil
			continue
		}
		h, err := r.putBlob(c.Data)
		if err != nil {
			return "", fmt.Errorf("write %s: %w", c.Path, err)
		}
		edits[r.full(c.Path)] = &h
	}
	var base plumbing.Hash
	var parents []plumbing.Hash
	if parent != nil {
		base, parents = parent.TreeHash, []plumbing.Hash{parent.Hash}
	}
	tree, _, err := r.writeTree(base, edits)
	if err != nil {
		return "", err
	}
	sig := r.author
	sig.When = r.now()
	commit := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree, ParentHashes: parents}
	obj := r.repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return "", fmt.Errorf("encode commit: %w", err)
	}
	id, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", fmt.Errorf("write commit: %w", err)
	}

	checkedOut, err := r.checkedOut()
	if err != nil {
		return "", err
	}
	if checkedOut {
		// If we stop between moving the branch and updating the files,
		// the next Open finds this mark and brings the worktree to HEAD.
		if err := os.WriteFile(r.markPath(), []byte(id.String()+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("mark worktree update: %w", err)
		}
	}
	var old *plumbing.Reference
	if parent != nil {
		old = plumbing.NewHashReference(r.branch, parent.Hash)
	}
	if err := r.repo.Storer.CheckAndSetReference(plumbing.NewHashReference(r.branch, id), old); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", r.branch.Short(), id, err)
	}
	if checkedOut {
		if err := r.updateWorktree(changes); err != nil {
			return "", err
		}
		if err := os.Remove(r.markPath()); err != nil {
			return "", fmt.Errorf("clear worktree mark: %w", err)
		}
	}
	return id.String(), nil
}

func (r *Repo) putBlob(data []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	if r.repo.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return h, err
	}
	if _, err := w.Write(data); err != nil {
		return h, err
	}
	if err := w.Close(); err != nil {
		return h, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// writeTree applies edits (paths relative to the tree, nil hash = delete)
// to the tree base (zero for none) and returns the new tree's id; empty
// reports a tree with no entries, which the parent drops. Subtrees without
// edits are kept by id, unread.
func (r *Repo) writeTree(base plumbing.Hash, edits map[string]*plumbing.Hash) (id plumbing.Hash, empty bool, err error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := r.repo.TreeObject(base)
		if err != nil {
			return id, false, fmt.Errorf("read tree %s: %w", base, err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string]map[string]*plumbing.Hash{}
	for p, h := range edits {
		dir, rest, nested := strings.Cut(p, "/")
		if !nested {
			if h == nil {
				delete(entries, p)
			} else {
				entries[p] = object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: *h}
			}
			continue
		}
		if sub[dir] == nil {
			sub[dir] = map[string]*plumbing.Hash{}
		}
		sub[dir][rest] = h
	}
	for dir, e := range sub {
		var old plumbing.Hash
		if cur, ok := entries[dir]; ok && cur.Mode == filemode.Dir {
			old = cur.Hash
		}
		h, empty, err := r.writeTree(old, e)
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
	obj := r.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return id, false, fmt.Errorf("encode tree: %w", err)
	}
	if r.repo.Storer.HasEncodedObject(obj.Hash()) == nil {
		return obj.Hash(), len(t.Entries) == 0, nil
	}
	id, err = r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return id, false, fmt.Errorf("write tree: %w", err)
	}
	return id, len(t.Entries) == 0, nil
}

// checkedOut reports whether the branch is the one HEAD names in a
// repository with a worktree.
func (r *Repo) checkedOut() (bool, error) {
	if r.repo == nil {
		return false, nil
	}
	if _, err := r.repo.Worktree(); err != nil {
		return false, nil // bare
	}
	head, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return false, fmt.Errorf("read HEAD: %w", err)
	}
	return head.Type() == plumbing.SymbolicReference && head.Target() == r.branch, nil
}

func (r *Repo) markPath() string { return filepath.Join(r.dir, ".git", "kubesnap-worktree") }

// updateWorktree writes the changed files (atomically, by rename) and
// their index entries.
func (r *Repo) updateWorktree(changes []snapsync.Change) error {
	idx, err := r.repo.Storer.Index()
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	pos := make(map[string]int, len(idx.Entries))
	for i, e := range idx.Entries {
		pos[e.Name] = i
	}
	removed := map[string]bool{}
	for _, c := range changes {
		name := r.full(c.Path)
		file := filepath.Join(r.dir, filepath.FromSlash(name))
		if c.Op == snapsync.Deleted {
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			removeEmptyParents(r.dir, filepath.Dir(file))
			removed[name] = true
			continue
		}
		if err := writeAtomic(file, c.Data); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		e, err := indexEntry(name, file, plumbing.ComputeHash(plumbing.BlobObject, c.Data))
		if err != nil {
			return err
		}
		if i, ok := pos[name]; ok {
			idx.Entries[i] = e
		} else {
			pos[name] = len(idx.Entries)
			idx.Entries = append(idx.Entries, e)
		}
	}
	if len(removed) > 0 {
		kept := idx.Entries[:0]
		for _, e := range idx.Entries {
			if !removed[e.Name] {
				kept = append(kept, e)
			}
		}
		idx.Entries = kept
	}
	sort.Slice(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
	if err := r.repo.Storer.SetIndex(idx); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

func writeAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := file + ".kubesnap-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// removeEmptyParents removes dir and its parents up to root while empty.
func removeEmptyParents(root, dir string) {
	for dir != root && strings.HasPrefix(dir, root) {
		if os.Remove(dir) != nil { // not empty, or gone
			return
		}
		dir = filepath.Dir(dir)
	}
}
