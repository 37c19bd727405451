package gitstore

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
	"golang.org/x/sync/errgroup"
)

// When the remote branch has commits we lack, ours are replayed on top of
// it, never merged and never forced over it:
//
//	paint ours from our head and theirs from the remote head, newest
//	commit first, until no commit only ours is left to walk
//	chain := ours-only commits on our first-parent line, oldest first
//	base := remote head
//	for c in chain:
//	    edits := files c changed against its first parent
//	    base := commit(tree of base with edits, parent base,
//	                   c's author and message, committed now)
//	conflicts := files the chain changed whose content at the fork point
//	             differs from the remote head's (both sides changed them;
//	             ours won)
//	move the branch, the worktree files that differ, the index, and the
//	local tags that pointed into the chain
//
// The walk, the tree edits and the worktree update each grow with the
// commits and files changed since the fork, not with the repository.

const (
	fromOurs   uint8 = 1
	fromTheirs uint8 = 2
)

// clockSkew is how far committer clocks may disagree: the walk goes on
// this far past our oldest commit in case a commit of theirs reaches it.
const clockSkew = time.Hour

// walk is the result of paint.
type walk struct {
	ours    *object.Commit
	flags   map[plumbing.Hash]uint8
	commits map[plumbing.Hash]*object.Commit
}

// commitQueue is a max-heap of commits by committer time.
type commitQueue []*object.Commit

func (q commitQueue) Len() int           { return len(q) }
func (q commitQueue) Less(i, j int) bool { return q[i].Committer.When.After(q[j].Committer.When) }
func (q commitQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)        { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// paint marks the commits reachable from ours and from theirs (zero, or
// a commit we do not have, for none), walking newest first and stopping
// once no commit reachable only from ours is left to walk. A commit
// marked ours-only may, with clocks skewed more than clockSkew, be
// reachable from theirs after all; a commit marked theirs always is.
//
// also are more commits the remote has (its other branches); those we do
// not have are ignored.
func (r *Repo) paint(ours *object.Commit, theirs plumbing.Hash, also ...plumbing.Hash) (*walk, error) {
	w := &walk{ours: ours, flags: map[plumbing.Hash]uint8{}, commits: map[plumbing.Hash]*object.Commit{}}
	q := &commitQueue{}
	add := func(c *object.Commit, f uint8) {
		if w.flags[c.Hash]&f == f {
			return
		}
		w.flags[c.Hash] |= f
		w.commits[c.Hash] = c
		heap.Push(q, c)
	}
	add(ours, fromOurs)
	for _, h := range append([]plumbing.Hash{theirs}, also...) {
		if h.IsZero() {
			continue
		}
		c, err := r.repo.CommitObject(h)
		switch {
		case errors.Is(err, plumbing.ErrObjectNotFound):
		case err != nil:
			return nil, fmt.Errorf("read commit %s: %w", h, err)
		default:
			add(c, fromTheirs)
		}
	}
	var oldest time.Time // of the ours-only commits walked
	goesOn := func() bool {
		for _, c := range *q {
			f := w.flags[c.Hash]
			if f == fromOurs {
				return true
			}
			if f&fromTheirs != 0 && !oldest.IsZero() && c.Committer.When.After(oldest.Add(-clockSkew)) {
				return true
			}
		}
		return false
	}
	for q.Len() > 0 && goesOn() {
		c := heap.Pop(q).(*object.Commit)
		f := w.flags[c.Hash]
		if f == fromOurs && (oldest.IsZero() || c.Committer.When.Before(oldest)) {
			oldest = c.Committer.When
		}
		for _, p := range c.ParentHashes {
			if w.flags[p]&f == f {
				continue
			}
			pc := w.commits[p]
			if pc == nil {
				var err error
				if pc, err = r.repo.CommitObject(p); err != nil {
					return nil, fmt.Errorf("read commit %s: %w", p, err)
				}
			}
			add(pc, f)
		}
	}
	return w, nil
}

// onlyOurs lists the commits reachable from ours and not from theirs.
func (w *walk) onlyOurs() []*object.Commit {
	var out []*object.Commit
	for h, f := range w.flags {
		if f == fromOurs {
			out = append(out, w.commits[h])
		}
	}
	return out
}

// collect lists the objects of the commits only ours has: each commit,
// and the trees and blobs it has that its first parent has not. The
// remote has the rest, since it has every commit not only ours.
func (r *Repo) collect(w *walk) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	for _, c := range w.onlyOurs() {
		out = append(out, c.Hash)
		tree, err := c.Tree()
		if err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
		}
		var base *object.Tree
		if c.NumParents() > 0 {
			p, err := r.repo.CommitObject(c.ParentHashes[0])
			if err != nil {
				return nil, fmt.Errorf("read parent of %s: %w", c.Hash, err)
			}
			if base, err = p.Tree(); err != nil {
				return nil, fmt.Errorf("read tree of %s: %w", p.Hash, err)
			}
		}
		if err := r.newObjects(tree, base, seen, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newObjects appends t and the trees and blobs below it that base (nil
// for none) does not hold at the same place.
func (r *Repo) newObjects(t, base *object.Tree, seen map[plumbing.Hash]bool, out *[]plumbing.Hash) error {
	if (base != nil && base.Hash == t.Hash) || seen[t.Hash] {
		return nil
	}
	seen[t.Hash] = true
	*out = append(*out, t.Hash)
	old := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			old[e.Name] = e
		}
	}
	for _, e := range t.Entries {
		o, had := old[e.Name]
		if had && o.Hash == e.Hash && o.Mode == e.Mode {
			continue
		}
		switch e.Mode {
		case filemode.Submodule: // a commit of another repository
		case filemode.Dir:
			sub, err := r.repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", e.Hash, err)
			}
			var subBase *object.Tree
			if had && o.Mode == filemode.Dir {
				if subBase, err = r.repo.TreeObject(o.Hash); err != nil {
					return fmt.Errorf("read tree %s: %w", o.Hash, err)
				}
			}
			if err := r.newObjects(sub, subBase, seen, out); err != nil {
				return err
			}
		default:
			if !seen[e.Hash] {
				seen[e.Hash] = true
				*out = append(*out, e.Hash)
			}
		}
	}
	return nil
}

// integrate brings the branch up to the fetched remote head theirs:
// nothing when ours has it already, a fast-forward when ours is behind,
// a rebase when both moved. moved reports that the branch head changed.
func (r *Repo) integrate(theirs plumbing.Hash) (moved bool, conflicts []string, err error) {
	remote, err := r.repo.CommitObject(theirs)
	if err != nil {
		return false, nil, fmt.Errorf("read commit %s: %w", theirs, err)
	}
	ours, err := r.head()
	if err != nil {
		return false, nil, err
	}
	if ours != nil && ours.Hash == theirs {
		return false, nil, nil
	}
	// A link or a submodule the remote holds under the prefix is
	// refused before anything moves: replayed onto, it would have our
	// files written through it (see workdir.go).
	if _, err := r.files(remote, r.prefix); err != nil {
		return false, nil, err
	}
	if ours == nil {
		return true, nil, r.moveBranch(nil, remote)
	}
	w, err := r.paint(ours, theirs)
	if err != nil {
		return false, nil, err
	}
	switch {
	case w.flags[theirs]&fromOurs != 0: // we are ahead
		return false, nil, nil
	case w.flags[ours.Hash]&fromTheirs != 0: // we are behind
		return true, nil, r.moveBranch(ours, remote)
	}
	// Our commits on our first-parent line; a merge brings its other
	// parents' changes along in its diff against the first.
	var chain []*object.Commit
	fork := ours
	for fork != nil && w.flags[fork.Hash] == fromOurs {
		chain = append(chain, fork)
		if fork.NumParents() == 0 {
			fork = nil
			break
		}
		p := w.commits[fork.ParentHashes[0]]
		if p == nil {
			if p, err = r.repo.CommitObject(fork.ParentHashes[0]); err != nil {
				return false, nil, fmt.Errorf("read parent of %s: %w", fork.Hash, err)
			}
		}
		fork = p
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	conflicts, err = r.rebase(ours, remote, fork, chain)
	return true, conflicts, err
}

// rebase replays chain (oldest first, ending at ours) onto remote and
// moves the branch there; fork is the chain's first parent (nil for
// none). It returns the files, relative to the prefix, that both sides
// changed since fork.
func (r *Repo) rebase(ours, remote, fork *object.Commit, chain []*object.Commit) ([]string, error) {
	st := &staging{repo: r, objects: map[plumbing.Hash]plumbing.EncodedObject{}}
	id, tree := remote.Hash, remote.TreeHash
	replaced := map[plumbing.Hash]plumbing.Hash{}
	touched := map[string]bool{}
	now := r.now()
	for _, c := range chain {
		edits, err := r.edits(c)
		if err != nil {
			return nil, err
		}
		for p := range edits {
			touched[p] = true
		}
		t, _, err := r.writeTree(st, tree, edits)
		if err != nil {
			return nil, err
		}
		if t == tree { // the remote has these changes already
			replaced[c.Hash] = id
			continue
		}
		committer := c.Committer
		committer.When = now.In(c.Committer.When.Location())
		commit := &object.Commit{Author: c.Author, Committer: committer, Message: c.Message, TreeHash: t, ParentHashes: []plumbing.Hash{id}}
		obj := &plumbing.MemoryObject{}
		if err := commit.Encode(obj); err != nil {
			return nil, fmt.Errorf("encode commit: %w", err)
		}
		st.objects[obj.Hash()] = obj
		id, tree = obj.Hash(), t
		replaced[c.Hash] = id
	}
	var conflicts []string
	for p := range touched {
		rel, ok := r.relative(p)
		if !ok {
			continue
		}
		before, err := blobAt(fork, p)
		if err != nil {
			return nil, err
		}
		after, err := blobAt(remote, p)
		if err != nil {
			return nil, err
		}
		if before != after {
			conflicts = append(conflicts, rel)
		}
	}
	sort.Strings(conflicts)
	if err := st.flush(); err != nil {
		return nil, err
	}
	head, err := r.repo.CommitObject(id)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", id, err)
	}
	if err := r.moveBranch(ours, head); err != nil {
		return nil, err
	}
	return conflicts, r.moveTags(replaced)
}

// tree reads tree h from the objects staged so far, else from the
// repository. A rebase replays each commit onto the tree the one before
// made, and those trees are written only when the whole chain is done:
// reading them from the repository alone failed every rebase of two
// commits or more, for good, since the chain only grows while the
// push fails.
func (s *staging) tree(h plumbing.Hash) (*object.Tree, error) {
	if obj, ok := s.objects[h]; ok {
		return object.DecodeTree(s.repo.repo.Storer, obj)
	}
	return s.repo.repo.TreeObject(h)
}

// relative returns p relative to the prefix, when it is below it.
func (r *Repo) relative(p string) (string, bool) {
	if r.prefix == "" {
		return p, true
	}
	return strings.CutPrefix(p, r.prefix+"/")
}

// edits lists the files c changed against its first parent, as writeTree
// takes them: repository path → new blob id, nil for deleted.
func (r *Repo) edits(c *object.Commit) (map[string]*plumbing.Hash, error) {
	after, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	before := &object.Tree{}
	if c.NumParents() > 0 {
		p, err := r.repo.CommitObject(c.ParentHashes[0])
		if err != nil {
			return nil, fmt.Errorf("read parent of %s: %w", c.Hash, err)
		}
		if before, err = p.Tree(); err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", p.Hash, err)
		}
	}
	changes, err := object.DiffTree(before, after)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	edits := map[string]*plumbing.Hash{}
	for _, ch := range changes {
		if ch.To.Name == "" {
			edits[ch.From.Name] = nil
			continue
		}
		if ch.From.Name != "" && ch.From.Name != ch.To.Name {
			edits[ch.From.Name] = nil
		}
		h := ch.To.TreeEntry.Hash
		edits[ch.To.Name] = &h
	}
	return edits, nil
}

// blobAt returns the id of the file p at c; zero when c is nil or has no
// such file.
func blobAt(c *object.Commit, p string) (plumbing.Hash, error) {
	if c == nil {
		return plumbing.ZeroHash, nil
	}
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	e, err := t.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s at %s: %w", p, c.Hash, err)
	}
	return e.Hash, nil
}

// moveTags points the local tags at commits replaced by a rebase to their
// replacements.
func (r *Repo) moveTags(replaced map[plumbing.Hash]plumbing.Hash) error {
	iter, err := r.repo.Storer.IterReferences()
	if err != nil {
		return fmt.Errorf("list tags: %w", err)
	}
	var move []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsTag() && ref.Type() == plumbing.HashReference {
			if _, ok := replaced[ref.Hash()]; ok {
				move = append(move, ref)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list tags: %w", err)
	}
	for _, old := range move {
		ref := plumbing.NewHashReference(old.Name(), replaced[old.Hash()])
		if err := r.repo.Storer.CheckAndSetReference(ref, old); err != nil {
			return fmt.Errorf("move tag %s to %s: %w", old.Name().Short(), ref.Hash(), err)
		}
	}
	return nil
}

// fromMark starts the content of the worktree mark a branch move leaves:
// "from <old head>". Open then redoes the update from that commit to HEAD.
const fromMark = "from "

// moveBranch moves the branch from old (nil: the branch does not exist)
// to head. When the branch is checked out it first makes sure no local
// edit is in the way, then updates the files that differ between the two
// trees and their index entries.
func (r *Repo) moveBranch(old, head *object.Commit) error {
	checkedOut, err := r.checkedOut()
	if err != nil {
		return err
	}
	var changes object.Changes
	if checkedOut {
		defer r.doneWorkdir()
		if changes, err = r.treeChanges(old, head); err != nil {
			return err
		}
		if err := r.checkClean(changes); err != nil {
			return err
		}
		from := plumbing.ZeroHash
		if old != nil {
			from = old.Hash
		}
		if err := os.WriteFile(r.markPath(), []byte(fromMark+from.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("mark worktree update: %w", err)
		}
	}
	var oldRef *plumbing.Reference
	if old != nil {
		oldRef = plumbing.NewHashReference(r.branch, old.Hash)
	}
	if err := r.repo.Storer.CheckAndSetReference(plumbing.NewHashReference(r.branch, head.Hash), oldRef); err != nil {
		return fmt.Errorf("move %s to %s: %w", r.branch.Short(), head.Hash, err)
	}
	if !checkedOut {
		return nil
	}
	if err := r.checkout(changes); err != nil {
		return err
	}
	if err := os.Remove(r.markPath()); err != nil {
		return fmt.Errorf("clear worktree mark: %w", err)
	}
	return nil
}

// treeChanges lists the files that differ between the trees of old and
// head (nil for none). Unchanged subtrees are compared by id, not read.
func (r *Repo) treeChanges(old, head *object.Commit) (object.Changes, error) {
	trees := [2]*object.Tree{{}, {}}
	for i, c := range []*object.Commit{old, head} {
		if c == nil {
			continue
		}
		t, err := c.Tree()
		if err != nil {
			return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
		}
		trees[i] = t
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", head.Hash, err)
	}
	return changes, nil
}

// checkClean refuses to update files a person changed: each file about
// to change must be as the old tree has it, or absent if it had none.
func (r *Repo) checkClean(changes object.Changes) error {
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	for _, ch := range changes {
		// A commit that would check out a link or a submodule where
		// kubesnap writes is refused before the branch moves (one that
		// removes one is welcome). Elsewhere, in another writer's folder,
		// a link is checked out as git would, and never followed.
		if err := r.checkLink(ch.To, "the remote's branch"); err != nil {
			return err
		}
		if ch.To.Name != "" {
			if err := checkName(ch.To.Name); err != nil {
				return fmt.Errorf("the remote's branch: %w", err)
			}
		}
		if ch.From.Name == "" {
			name := ch.To.Name
			data, err := w.ReadFile(name)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			var link *LinkError
			if errors.As(err, &link) {
				return err
			}
			if err != nil || plumbing.ComputeHash(plumbing.BlobObject, data) != ch.To.TreeEntry.Hash {
				return fmt.Errorf("the file %s is not tracked here but the remote has it: move it away and start again", name)
			}
			continue
		}
		name := ch.From.Name
		if m := ch.From.TreeEntry.Mode; m == filemode.Symlink || m == filemode.Submodule {
			continue // removed as a link, never followed
		}
		var entry *index.Entry
		i := sort.Search(len(idx.Entries), func(i int) bool { return idx.Entries[i].Name >= name })
		if i < len(idx.Entries) && idx.Entries[i].Name == name {
			entry = idx.Entries[i]
		}
		changed, err := r.differs(name, ch.From.TreeEntry.Hash.String(), entry)
		if err != nil {
			return err
		}
		if changed {
			return fmt.Errorf("the file %s has local changes and the remote changed it: commit or undo them and start again", name)
		}
	}
	return nil
}

// checkout writes the changed files into the worktree and updates their
// index entries: deletions first, so a file may replace a folder and a
// folder a file.
func (r *Repo) checkout(changes object.Changes) error {
	idx, err := r.loadIndex()
	if err != nil {
		return err
	}
	w, err := r.workdir()
	if err != nil {
		return err
	}
	defer r.doneWorkdir()
	removed := map[string]bool{}
	var writes []object.ChangeEntry
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return fmt.Errorf("update worktree: %w", err)
		}
		if err := r.checkLink(ch.To, "the branch"); err != nil {
			return err // moveBranch refused it already; this is a recovery
		}
		if ch.From.Name != "" && (action == merkletrie.Delete || ch.From.Name != ch.To.Name) {
			name := ch.From.Name
			if err := w.RemoveAll(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
			w.RemoveEmptyParents(path.Dir(name))
			removed[name] = true
		}
		if action != merkletrie.Delete {
			if ch.From.TreeEntry.Mode == filemode.Symlink || ch.From.TreeEntry.Mode == filemode.Submodule {
				if err := w.RemoveAll(ch.From.Name); err != nil {
					return fmt.Errorf("remove %s: %w", ch.From.Name, err)
				}
			}
			writes = append(writes, ch.To)
			delete(removed, ch.To.Name)
		}
	}
	written := make([]*index.Entry, len(writes))
	var g errgroup.Group
	g.SetLimit(worktreeWriters)
	var failed error
	for i, e := range writes {
		_, release, err := w.folder(path.Dir(e.Name), true)
		if err != nil {
			failed = fmt.Errorf("create folder for %s: %w", e.Name, err)
			break
		}
		release()
		if e.TreeEntry.Mode == filemode.Submodule {
			_, release, err := w.folder(e.Name, true)
			if err != nil {
				failed = fmt.Errorf("create folder %s: %w", e.Name, err)
				break
			}
			release()
			written[i] = &index.Entry{Name: e.Name, Hash: e.TreeEntry.Hash, Mode: filemode.Submodule}
			continue
		}
		// Read here, one blob at a time; the writes overlap.
		data, err := r.blob(e.TreeEntry.Hash)
		if err != nil {
			failed = fmt.Errorf("read %s: %w", e.Name, err)
			break
		}
		g.Go(func() error {
			entry, err := checkoutFile(w, e.Name, data, e.TreeEntry)
			if err != nil {
				return fmt.Errorf("write %s: %w", e.Name, err)
			}
			written[i] = entry
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return r.saveIndex(idx, mergeIndex(idx, written, removed))
}

// blob returns the content of blob h.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	b, err := r.repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rd)
	if cerr := rd.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// checkoutFile writes one file of mode e.Mode through w and returns its
// index entry. A link is made, never followed (checkLink allowed it).
func checkoutFile(w *workdir, name string, data []byte, e object.TreeEntry) (*index.Entry, error) {
	if e.Mode == filemode.Symlink {
		fi, err := w.Symlink(string(data), name)
		if err != nil {
			return nil, err
		}
		entry := &index.Entry{Name: name, Hash: e.Hash, Mode: filemode.Symlink, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
		fillStat(entry, fi)
		return entry, nil
	}
	entry, err := writeFile(w, name, data, e.Hash)
	if err != nil {
		return nil, err
	}
	perm := os.FileMode(0o644)
	if e.Mode == filemode.Executable {
		perm = 0o755
	}
	fi, err := w.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o111 != perm&0o111 {
		if err := w.Chmod(name, perm); err != nil {
			return nil, err
		}
		if fi, err = w.Lstat(name); err != nil {
			return nil, err
		}
		entry.ModifiedAt = fi.ModTime()
		fillStat(entry, fi)
	}
	if e.Mode == filemode.Executable {
		entry.Mode = filemode.Executable
	}
	return entry, nil
}

// checkLink refuses e when it is a link or a submodule under the prefix,
// in where.
func (r *Repo) checkLink(e object.ChangeEntry, where string) error {
	m := e.TreeEntry.Mode
	if e.Name == "" || m != filemode.Symlink && m != filemode.Submodule {
		return nil
	}
	if _, under := r.relative(e.Name); !under {
		return nil
	}
	return &LinkError{Path: e.Name, Submodule: m == filemode.Submodule, Where: where}
}

// merged says what mergeIndex did, for saveIndex.
type merged struct {
	// inPlace: entries were only replaced by entries of the same name,
	// at the indexes replaced.
	inPlace  bool
	replaced []int
}

// mergeIndex puts the written entries into idx, replacing those of the
// same name, and drops the removed ones, keeping idx sorted by name (as
// git keeps it: an index read from disk is). Entries are found by binary
// search, so that a commit of a few files does not visit all of them.
func mergeIndex(idx *index.Index, written []*index.Entry, removed map[string]bool) merged {
	m := merged{inPlace: len(removed) == 0}
	find := func(name string) (int, bool) {
		i := sort.Search(len(idx.Entries), func(i int) bool { return idx.Entries[i].Name >= name })
		return i, i < len(idx.Entries) && idx.Entries[i].Name == name && idx.Entries[i].Stage == 0
	}
	var added []*index.Entry
	for _, e := range written {
		if e == nil {
			continue
		}
		if i, ok := find(e.Name); ok {
			idx.Entries[i] = e
			m.replaced = append(m.replaced, i)
			continue
		}
		added = append(added, e)
	}
	if len(added) > 0 {
		m.inPlace = false
		idx.Entries = append(idx.Entries, added...)
		sort.SliceStable(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
		// A name written twice keeps its last entry.
		kept := idx.Entries[:0]
		for i, e := range idx.Entries {
			if i+1 < len(idx.Entries) && idx.Entries[i+1].Name == e.Name && e.Stage == 0 && idx.Entries[i+1].Stage == 0 {
				continue
			}
			kept = append(kept, e)
		}
		idx.Entries = kept
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
	return m
}

// recoverMove finishes a branch move a crash interrupted: it writes the
// files that differ between the commit the mark names and HEAD. Files
// already written are written again, which is harmless.
func (r *Repo) recoverMove(mark string) error {
	from := plumbing.NewHash(strings.TrimSpace(strings.TrimPrefix(mark, fromMark)))
	var old *object.Commit
	if !from.IsZero() {
		c, err := r.repo.CommitObject(from)
		if err != nil {
			return fmt.Errorf("recover worktree: read commit %s: %w", from, err)
		}
		old = c
	}
	head, err := r.head()
	if err != nil {
		return err
	}
	if head == nil {
		return nil
	}
	changes, err := r.treeChanges(old, head)
	if err != nil {
		return err
	}
	if err := r.checkout(changes); err != nil {
		return fmt.Errorf("recover worktree after an interrupted pull: %w", err)
	}
	return nil
}
