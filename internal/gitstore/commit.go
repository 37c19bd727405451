package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"golang.org/x/sync/errgroup"
)

// Commit writes changes as one commit on the branch head: it stores the
// new blobs, rewrites only the trees on the changed paths, and moves the
// branch (refusing if someone else moved it meanwhile). When the branch is
// checked out it also brings the changed files and their index entries up
// to date, so that git status stays clean.
//
// With a base (Options.Base) the changes are relative to the base, not to
// the branch head, and Commit may make no commit: see commitOnBase.
func (r *Repo) Commit(ctx context.Context, changes []snapsync.Change, message string) (string, error) {
	if r.base != nil {
		return r.commitOnBase(changes, message)
	}
	if err := r.create(); err != nil {
		return "", err
	}
	parent, err := r.head()
	if err != nil {
		return "", err
	}
	st, edits := r.stageChanges(changes)
	var base plumbing.Hash
	var parents []plumbing.Hash
	if parent != nil {
		base, parents = parent.TreeHash, []plumbing.Hash{parent.Hash}
	}
	tree, _, err := r.writeTree(st, base, edits)
	if err != nil {
		return "", err
	}
	id, err := r.newCommit(st, tree, parents, message)
	if err != nil {
		return "", err
	}
	if err := st.flush(); err != nil {
		return "", err
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
		defer r.doneWorkdir()
		if err := r.updateWorktree(changes, edits); err != nil {
			return "", err
		}
		if err := os.Remove(r.markPath()); err != nil {
			return "", fmt.Errorf("clear worktree mark: %w", err)
		}
	}
	return id.String(), nil
}

// stageChanges stages the blobs of changes and returns them as writeTree
// takes them: repository path → blob id, nil for deleted.
func (r *Repo) stageChanges(changes []snapsync.Change) (*staging, map[string]*plumbing.Hash) {
	st := &staging{repo: r, objects: map[plumbing.Hash]plumbing.EncodedObject{}}
	edits := map[string]*plumbing.Hash{}
	for _, c := range changes {
		if c.Op == snapsync.Deleted {
			edits[r.full(c.Path)] = nil
			continue
		}
		h := st.put(plumbing.BlobObject, c.Data)
		edits[r.full(c.Path)] = &h
	}
	return st, edits
}

// newCommit stages a commit of tree with parents and message, by the
// author, made now, and returns its id.
func (r *Repo) newCommit(st *staging, tree plumbing.Hash, parents []plumbing.Hash, message string) (plumbing.Hash, error) {
	sig := r.author
	sig.When = r.now()
	commit := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree, ParentHashes: parents}
	obj := &plumbing.MemoryObject{}
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	st.objects[obj.Hash()] = obj
	return obj.Hash(), nil
}

// packThreshold is how many new objects make a commit write one pack
// instead of loose objects: a first snapshot of a large cluster would
// otherwise create one file per object in .git/objects.
const packThreshold = 64

// staging collects a commit's new objects in memory and writes them at
// once, as loose objects or as one pack.
type staging struct {
	repo    *Repo
	objects map[plumbing.Hash]plumbing.EncodedObject
}

// put stages an object. It does not ask whether the repository has it
// already: that is one file lookup per object (0.6 s for a first snapshot
// of 12,000 objects here), while writing an object twice is harmless in
// git (the loose file is replaced by identical bytes, a pack may repeat
// an object) and rare, since only changed files are put.
func (s *staging) put(t plumbing.ObjectType, data []byte) plumbing.Hash {
	h := plumbing.ComputeHash(t, data)
	if _, ok := s.objects[h]; ok {
		return h
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	_, _ = obj.Write(data) // a MemoryObject's Write cannot fail
	s.objects[h] = obj
	return h
}

func (s *staging) flush() error {
	staged := s.repo.takeStaged() // taken on every path, so none outlive a commit
	st := s.repo.repo.Storer
	fs, onDisk := st.(*filesystem.Storage)
	if len(s.objects) < packThreshold || !onDisk {
		for h, obj := range s.objects {
			if _, err := st.SetEncodedObject(obj); err != nil {
				return fmt.Errorf("write object %s: %w", h, err)
			}
		}
		return nil
	}
	if err := writePack(filepath.Join(s.repo.gitDir(), "objects", "pack"), s.objects, staged); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	fs.Reindex() // go-git reads the pack indexes again, with the new one
	return nil
}

// writeTree applies edits (paths relative to the tree, nil hash = delete)
// to the tree base (zero for none) and returns the new tree's id; empty
// reports a tree with no entries, which the parent drops. Subtrees without
// edits are kept by id, unread.
func (r *Repo) writeTree(st *staging, base plumbing.Hash, edits map[string]*plumbing.Hash) (id plumbing.Hash, empty bool, err error) {
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

func (r *Repo) markPath() string { return filepath.Join(r.gitDir(), "kubesnap-worktree") }

// gitDir is the folder git keeps its data in: DIR/.git, the folder a .git
// file points to, or DIR when bare.
func (r *Repo) gitDir() string {
	if r.repo != nil {
		if fs, ok := r.repo.Storer.(*filesystem.Storage); ok {
			return fs.Filesystem().Root()
		}
	}
	if fi, err := os.Stat(filepath.Join(r.dir, ".git")); err == nil && fi.IsDir() {
		return filepath.Join(r.dir, ".git")
	}
	return r.dir
}

// worktreeWriters is how many files are written at once: writing is
// system calls, which overlap well even on two cores.
const worktreeWriters = 8

// updateWorktree writes the changed files and their index entries. Files
// are written in place: if we stop halfway, the mark Commit left makes the
// next Open reset the worktree to HEAD.
func (r *Repo) updateWorktree(changes []snapsync.Change, ids map[string]*plumbing.Hash) error {
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	ahead := r.takeEarly()
	written := make([]*index.Entry, len(changes))
	dirs := map[string]bool{}
	removed := map[string]bool{}
	for i, c := range changes {
		name := r.full(c.Path)
		if c.Op == snapsync.Deleted {
			if err := w.Remove(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			removed[name] = true
			continue
		}
		if e := ahead[name]; e != nil && e.Hash == *ids[name] {
			written[i] = e // Stage wrote it already
			delete(ahead, name)
			continue
		}
		dirs[path.Dir(name)] = true
	}
	if err := r.undoEarly(w, ahead); err != nil {
		return err
	}
	for d := range dirs {
		_, release, err := w.folder(d, true)
		if err != nil {
			return fmt.Errorf("create folder %s: %w", d, err)
		}
		release()
	}
	var g errgroup.Group
	g.SetLimit(worktreeWriters)
	for i, c := range changes {
		if c.Op == snapsync.Deleted || written[i] != nil {
			continue
		}
		g.Go(func() error {
			name := r.full(c.Path)
			e, err := writeFile(w, name, c.Data, *ids[name])
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			written[i] = e
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	return r.saveIndex(idx, mergeIndex(idx, written, removed))
}

// undoEarly puts back files Stage wrote that the commit does not hold (a
// list restarted and found the object unchanged after all): the version at
// the new head, or no file.
func (r *Repo) undoEarly(w *workdir, files map[string]*index.Entry) error {
	if len(files) == 0 {
		return nil
	}
	head, err := r.head()
	if err != nil {
		return err
	}
	for name := range files {
		f, err := head.File(name)
		if errors.Is(err, object.ErrFileNotFound) {
			if err := w.Remove(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", name, head.Hash, err)
		}
		data, err := f.Contents()
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", name, head.Hash, err)
		}
		if _, err := w.WriteFile(name, []byte(data), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// writeFile writes one file through w and returns its index entry, with
// the stat data of the file as written.
func writeFile(w *workdir, name string, data []byte, id plumbing.Hash) (*index.Entry, error) {
	fi, err := w.WriteFile(name, data, 0o644)
	if err != nil {
		return nil, err
	}
	// The mtime may move on close on some file systems; git then rehashes
	// the file once, which costs time, not correctness.
	e := &index.Entry{Name: name, Hash: id, Mode: filemode.Regular, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
	fillStat(e, fi)
	return e, nil
}
