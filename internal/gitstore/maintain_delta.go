package gitstore

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/bits"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxOutsideWalk is how many commits in a row outside the roll-up a walk
// from a branch passes before it stops: the watcher may commit while a
// maintenance writes its pack, so a branch can lead through a few new
// loose commits to the ones gathered.
const maxOutsideWalk = 64

// rollupPlan is the order a roll-up writes its objects in and the delta
// base chosen for some of them; every base comes before its object.
type rollupPlan struct {
	order []plumbing.Hash
	base  map[plumbing.Hash]plumbing.Hash
}

// planRollup chooses, for the objects of set, the order and delta bases
// of a roll-up. It walks the commits of set from the branches and tags,
// oldest first, and takes each tree or blob that a commit changes as the
// next version of its path; a version's base is an earlier version of
// the same path in this pack: version k's is version k-lowbit(k) (k
// counted from 0), so that a chain of n versions is never deeper than
// log2(n) deltas, and most deltas span one or two changes. (git finds
// bases by comparing objects of similar name and size in a window; the
// path's own history is what kubesnap's commits change, one file and its
// folders at a time, so it finds the same bases without the search.)
// Objects no walked commit reaches come last, whole, by id.
func planRollup(objs storer.EncodedObjectStorer, set map[plumbing.Hash]bool) (rollupPlan, error) {
	commits, err := rollupCommits(objs, set)
	if err != nil {
		return rollupPlan{}, err
	}
	p := &planner{objs: objs, set: set, done: make(map[plumbing.Hash]bool, len(set)), chains: map[uint64][]plumbing.Hash{},
		plan: rollupPlan{order: make([]plumbing.Hash, 0, len(set)), base: map[plumbing.Hash]plumbing.Hash{}}}
	for _, c := range commits {
		if err := p.commit(c); err != nil {
			return rollupPlan{}, err
		}
	}
	rest := make([]plumbing.Hash, 0, len(set)-len(p.plan.order))
	for h := range set {
		if !p.done[h] {
			rest = append(rest, h)
		}
	}
	slices.SortFunc(rest, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	p.plan.order = append(p.plan.order, rest...)
	return p.plan, nil
}

// rollupCommits returns the commits of set that the references reach,
// parents before children.
func rollupCommits(objs storer.EncodedObjectStorer, set map[plumbing.Hash]bool) ([]*object.Commit, error) {
	refs, ok := objs.(storer.ReferenceStorer)
	if !ok {
		return nil, nil
	}
	// The branches and tags are only where the walk starts: one that
	// cannot be read (a writer's lock file half written) leaves its
	// objects to be written whole at the end, never fails the roll-up.
	var tips []plumbing.Hash
	if head, err := storer.ResolveReference(refs, plumbing.HEAD); err == nil {
		tips = append(tips, head.Hash())
	}
	if it, err := refs.IterReferences(); err == nil {
		_ = it.ForEach(func(ref *plumbing.Reference) error {
			if ref.Type() == plumbing.HashReference {
				tips = append(tips, ref.Hash())
			}
			return nil
		})
	}
	w := &commitWalk{objs: objs, set: set, seen: map[plumbing.Hash]bool{}}
	for _, tip := range tips {
		if err := w.from(tip); err != nil {
			return nil, err
		}
	}
	return w.out, nil
}

// commitWalk lists commits parents first (post-order).
type commitWalk struct {
	objs storer.EncodedObjectStorer
	set  map[plumbing.Hash]bool
	seen map[plumbing.Hash]bool
	out  []*object.Commit
}

// from walks the history behind tip, an annotated tag's target for a
// tag. It does not recurse, so a long history cannot exhaust the stack.
func (w *commitWalk) from(tip plumbing.Hash) error {
	type frame struct {
		c       *object.Commit
		next    int // parent to visit next
		outside int // commits outside set in a row down to c
	}
	var stack []frame
	push := func(h plumbing.Hash, outside int) error {
		if w.seen[h] {
			return nil
		}
		w.seen[h] = true
		if !w.set[h] {
			outside++
			if outside > maxOutsideWalk {
				return nil
			}
		} else {
			outside = 0
		}
		o, err := w.objs.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			if w.set[h] {
				return fmt.Errorf("read object %s: %w", h, err)
			}
			return nil // outside the roll-up and gone: nothing of ours behind it to order
		}
		switch o.Type() {
		case plumbing.TagObject:
			t, err := object.DecodeTag(w.objs, o)
			if err != nil {
				return fmt.Errorf("read tag %s: %w", h, err)
			}
			return w.from(t.Target)
		case plumbing.CommitObject:
			c, err := object.DecodeCommit(w.objs, o)
			if err != nil {
				return fmt.Errorf("read commit %s: %w", h, err)
			}
			stack = append(stack, frame{c: c, outside: outside})
		}
		return nil
	}
	if err := push(tip, 0); err != nil {
		return err
	}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.c.ParentHashes) {
			top.next++
			if err := push(top.c.ParentHashes[top.next-1], top.outside); err != nil {
				return err
			}
			continue
		}
		if w.set[top.c.Hash] {
			w.out = append(w.out, top.c)
		}
		stack = stack[:len(stack)-1]
	}
	return nil
}

// planner builds a rollupPlan.
type planner struct {
	objs   storer.EncodedObjectStorer
	set    map[plumbing.Hash]bool
	done   map[plumbing.Hash]bool
	chains map[uint64][]plumbing.Hash // path → its versions in this pack
	plan   rollupPlan
}

// commit orders c and what it changes against its first parent.
func (p *planner) commit(c *object.Commit) error {
	p.add(c.Hash, 0, false)
	var parent *object.Tree
	if len(c.ParentHashes) > 0 {
		pc, err := object.GetCommit(p.objs, c.ParentHashes[0])
		if err == nil {
			parent, err = pc.Tree()
		}
		if err != nil && p.set[c.ParentHashes[0]] {
			return fmt.Errorf("read commit %s: %w", c.ParentHashes[0], err)
		}
	}
	return p.tree(c.TreeHash, parent, "")
}

// tree orders the tree h at path dir, and what in it differs from was
// (nil when the path was no tree before).
func (p *planner) tree(h plumbing.Hash, was *object.Tree, dir string) error {
	if (was != nil && was.Hash == h) || !p.set[h] || p.done[h] {
		// What is under a tree outside the roll-up is too; what is
		// under one placed already (a revert) is placed or outside.
		return nil
	}
	p.add(h, pathKey('t', dir), true)
	t, err := object.GetTree(p.objs, h)
	if err != nil {
		return fmt.Errorf("read tree %s: %w", h, err)
	}
	var old map[string]object.TreeEntry
	if was != nil {
		old = make(map[string]object.TreeEntry, len(was.Entries))
		for _, e := range was.Entries {
			old[e.Name] = e
		}
	}
	for _, e := range t.Entries {
		prev, had := old[e.Name]
		if had && prev.Hash == e.Hash {
			continue
		}
		switch {
		case e.Mode == filemode.Dir:
			var sub *object.Tree
			if had && prev.Mode == filemode.Dir {
				sub, _ = object.GetTree(p.objs, prev.Hash) // unreadable: the path counts as new
			}
			if err := p.tree(e.Hash, sub, dir+e.Name+"/"); err != nil {
				return err
			}
		case e.Mode.IsFile():
			p.add(e.Hash, pathKey('b', dir+e.Name), true)
		}
	}
	return nil
}

// add puts h next in the order if it is in the set and not placed yet,
// as the next version of the path key when versioned.
func (p *planner) add(h plumbing.Hash, key uint64, versioned bool) {
	if !p.set[h] || p.done[h] {
		return
	}
	p.done[h] = true
	p.plan.order = append(p.plan.order, h)
	if !versioned {
		return
	}
	chain := p.chains[key]
	if k := len(chain); k > 0 {
		p.plan.base[h] = chain[k-(1<<bits.TrailingZeros(uint(k)))]
	}
	p.chains[key] = append(chain, h)
}

// pathKey names a path of kind 't' (tree) or 'b' (blob) in 8 bytes; two
// paths that share a key only make a worse delta, never a wrong one.
func pathKey(kind byte, path string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte{kind}) // a hash's Write never fails
	_, _ = f.Write([]byte(path))
	return f.Sum64()
}

// deltaCacheBytes bounds the data a roll-up keeps of the delta bases it
// wrote last: a base is most often the version written just before.
const deltaCacheBytes = 32 << 20

// deltaAgainst returns the delta from base to data, or nil when it is
// not worth it (more than half of data).
func deltaAgainst(objs storer.EncodedObjectStorer, recent *dataCache, base plumbing.Hash, data []byte) ([]byte, error) {
	src, ok := recent.get(base)
	if !ok {
		obj, err := objs.EncodedObject(plumbing.AnyObject, base)
		if err == nil {
			src, err = readObject(obj)
		}
		if err != nil {
			return nil, fmt.Errorf("read object %s: %w", base, err)
		}
	}
	delta := packfile.DiffDelta(src, data)
	if len(delta) > len(data)/2 {
		return nil, nil
	}
	return delta, nil
}

// dataCache keeps the data of the objects put last, up to a number of
// bytes, the oldest going first.
type dataCache struct {
	limit, size int
	data        map[plumbing.Hash][]byte
	fifo        []plumbing.Hash
}

func newDataCache(limit int) *dataCache {
	return &dataCache{limit: limit, data: map[plumbing.Hash][]byte{}}
}

func (c *dataCache) put(h plumbing.Hash, data []byte) {
	if len(data) > c.limit {
		return
	}
	for c.size+len(data) > c.limit {
		old := c.fifo[0]
		c.fifo = c.fifo[1:]
		c.size -= len(c.data[old])
		delete(c.data, old)
	}
	c.data[h] = data
	c.fifo = append(c.fifo, h)
	c.size += len(data)
}

func (c *dataCache) get(h plumbing.Hash) ([]byte, bool) {
	d, ok := c.data[h]
	return d, ok
}
