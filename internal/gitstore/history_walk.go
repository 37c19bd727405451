package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/kubesnap/kubesnap/canonical"
)

// A history walk reads, for each commit along first parents, the commit
// object's header and the trees on the file's path whose ids differ from
// the same trees in the commit after it: a commit that changed another
// namespace costs its commit, its root tree and the namespaces/ tree. The
// trees are read as bytes (tree_raw.go's parseRaw), not decoded into
// go-git's entries, and kept by id (a tree shared by many commits, as a
// namespace's folder is, is read once).

// historyTreeBytes bounds the trees a walk keeps: a type's folder is
// 200 kB at 300,000 objects, and a walk may meet a thousand versions of
// it.
const historyTreeBytes = 32 << 20

// historyWalk is the state of one History call.
type historyWalk struct {
	r *Repo
	// objects keeps the pack files open for the walk: go-git's own
	// storage opens a pack for every object it reads (half the time of
	// a walk, measured).
	objects storer.EncodedObjectStorer
	// packs reads most objects faster (history_pack.go).
	packs *historyPacks
	// segs is the path being followed, from the repository's top; it
	// changes when the object moved between groups.
	segs      []string
	trees     map[plumbing.Hash]*rawTree
	order     []plumbing.Hash
	treeBytes int
	// reader reads the commits ahead of the walk (ahead).
	reader *commitReader
	// treesRead counts the trees the walk read, for the benchmark.
	treesRead int
	// contents is HistoryOptions.Contents; lastBlob the blob read last
	// (the older side of a change is the newer side of the next).
	contents bool
	lastBlob struct {
		id   string
		data []byte
	}
}

// newHistoryWalk starts a walk of the file full; done closes its pack
// files.
func newHistoryWalk(r *Repo, full string) (w *historyWalk, done func()) {
	objects, closeObjects := r.blobStorage()
	packs := openHistoryPacks(r.gitDir())
	w = &historyWalk{r: r, objects: objects, packs: packs, segs: strings.Split(full, "/"), trees: map[plumbing.Hash]*rawTree{}}
	return w, func() { packs.close(); closeObjects() }
}

// read returns the content of object h of type t: from the packs, else
// (a loose object, a pack written since, one the packs reader does not
// understand) through go-git's storage.
func (w *historyWalk) read(h plumbing.Hash, t plumbing.ObjectType) ([]byte, error) {
	if data, err := w.packs.read(h, t); err == nil {
		return data, nil
	}
	obj, err := w.objects.EncodedObject(t, h)
	if err != nil {
		return nil, err
	}
	return readObject(obj)
}

// pathEntry is one entry on the path: its id (zero when absent) and
// whether it is a folder.
type pathEntry struct {
	hash plumbing.Hash
	dir  bool
}

// rawCommit is a commit as the walk reads it: the header fields it
// needs, and the bytes for describe.
type rawCommit struct {
	hash, tree, parent plumbing.Hash
	when               time.Time
	raw                []byte
	// partial says raw is the header alone: describe reads the rest.
	partial bool
}

// commitHeaderBytes is how much of a commit the walk inflates: its
// header (tree, parent, author, committer: about 250 bytes) without a
// message that may list 500 files.
const commitHeaderBytes = 1024

// commitReader reads commit headers, in a goroutine of its own ahead of
// the walk (ahead): a walk reads one commit and two or three trees per
// commit, so on two cores the commits come for free. It has its own
// pack reader state and go-git storage: neither is safe to share.
type commitReader struct {
	r       *Repo
	packs   *historyPacks
	objects storer.EncodedObjectStorer
	commits int
}

// read returns the content of commit h, through go-git's storage when
// the packs do not have it.
func (cr *commitReader) read(h plumbing.Hash) ([]byte, error) {
	if data, err := cr.packs.read(h, plumbing.CommitObject); err == nil {
		return data, nil
	}
	obj, err := cr.objects.EncodedObject(plumbing.CommitObject, h)
	if err != nil {
		return nil, err
	}
	return readObject(obj)
}

// commit reads the commit h's header.
func (cr *commitReader) commit(h plumbing.Hash) (*rawCommit, error) {
	cr.commits++
	raw, whole, err := cr.packs.readPrefix(h, plumbing.CommitObject, commitHeaderBytes)
	if err != nil {
		whole = true
		raw, err = cr.read(h)
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("read commit %s in %s: %w (a shallow clone lacks the older commits: fetch the whole history)", h, cr.r.dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read commit %s in %s: %w", h, cr.r.dir, err)
	}
	header, _, complete := bytes.Cut(raw, []byte("\n\n"))
	if !complete && !whole {
		// A header longer than commitHeaderBytes (a signature): read it all.
		if raw, err = cr.read(h); err != nil {
			return nil, fmt.Errorf("read commit %s in %s: %w", h, cr.r.dir, err)
		}
		header, _, _ = bytes.Cut(raw, []byte("\n\n"))
		whole = true
	}
	c := &rawCommit{hash: h, raw: raw, partial: !whole}
	for line := range bytes.SplitSeq(header, []byte("\n")) {
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "tree":
			c.tree = plumbing.NewHash(string(val))
		case "parent":
			if c.parent.IsZero() {
				c.parent = plumbing.NewHash(string(val))
			}
		case "committer":
			c.when = signatureTime(val)
		}
	}
	if c.tree.IsZero() {
		return nil, fmt.Errorf("commit %s in %s has no tree: the repository is damaged", h, cr.r.dir)
	}
	return c, nil
}

// aheadResult is one commit (or the error reading it) of ahead.
type aheadResult struct {
	c   *rawCommit
	err error
}

// ahead reads the first-parent chain from head in a goroutine of its
// own, a few hundred commits ahead of the walk: next returns them in
// order (after an error, or the root, it must not be called again);
// stop ends the goroutine and waits for it, before the packs it reads
// are closed.
func (w *historyWalk) ahead(head plumbing.Hash) (next func() (*rawCommit, error), stop func()) {
	objects, closeObjects := w.r.blobStorage()
	cr := &commitReader{r: w.r, packs: w.packs.fork(), objects: objects}
	w.reader = cr
	out := make(chan aheadResult, 256)
	quit := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Go(func() {
		defer closeObjects()
		defer close(out)
		for h := head; ; {
			c, err := cr.commit(h)
			select {
			case out <- aheadResult{c, err}:
			case <-quit:
				return
			}
			if err != nil || c.parent.IsZero() {
				return
			}
			h = c.parent
		}
	})
	next = func() (*rawCommit, error) {
		res, ok := <-out
		if !ok {
			return nil, fmt.Errorf("history of %s: the commits ended early", w.r.dir)
		}
		return res.c, res.err
	}
	return next, func() { close(quit); wg.Wait() }
}

// signatureTime is the time at the end of a signature line ("Name
// <mail> 1700000000 +0100"), zero when it has none.
func signatureTime(sig []byte) time.Time {
	f := strings.Fields(string(sig))
	if len(f) < 2 {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(f[len(f)-2], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// describe fills the change's commit, time, author and message from the
// whole commit, decoded by go-git.
func (w *historyWalk) describe(c *rawCommit, out *ObjectChange) error {
	if c.partial {
		raw, err := w.read(c.hash, plumbing.CommitObject)
		if err != nil {
			return fmt.Errorf("read commit %s in %s: %w", c.hash, w.r.dir, err)
		}
		c.raw, c.partial = raw, false
	}
	var oc object.Commit
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.CommitObject)
	if _, err := obj.Write(c.raw); err != nil {
		return err
	}
	if err := oc.Decode(obj); err != nil {
		return fmt.Errorf("read commit %s: %w", c.hash, err)
	}
	out.Commit, out.Time, out.Author, out.Message = c.hash.String(), oc.Committer.When.UTC(), oc.Author.Name, oc.Message
	return nil
}

// rawTree is an encoded tree and its entries.
type rawTree struct {
	raw     []byte
	entries []rawEntry
}

func (t *rawTree) name(i int) string {
	e := t.entries[i]
	return string(t.raw[e.name:e.nameEnd])
}

// find is the index of the entry name, -1 when there is none.
func (t *rawTree) find(name string) int {
	for i, e := range t.entries {
		if string(t.raw[e.name:e.nameEnd]) == name {
			return i
		}
	}
	return -1
}

// mode is the entry i's mode, as its bytes spell it.
func (t *rawTree) mode(i int) filemode.FileMode {
	e := t.entries[i]
	sp := bytes.IndexByte(t.raw[e.start:e.name], ' ')
	return canonicalModes[string(t.raw[int(e.start):int(e.start)+sp])]
}

// tree reads the tree h, from the walk's trees when it read it before,
// and keeps it when keep is set (a root tree is its commit's own: not
// worth keeping). A tree not in the canonical form kubesnap and git
// write is decoded by go-git and encoded again.
func (w *historyWalk) tree(h plumbing.Hash, keep bool) (*rawTree, error) {
	if t := w.trees[h]; t != nil {
		return t, nil
	}
	w.treesRead++
	raw, err := w.read(h, plumbing.TreeObject)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	entries, err := parseRaw(raw)
	if errors.Is(err, errRawTree) {
		raw, entries, err = recodeTree(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	t := &rawTree{raw: raw, entries: entries}
	if !keep {
		return t, nil
	}
	for len(w.order) > 0 && w.treeBytes+len(raw) > historyTreeBytes {
		w.treeBytes -= len(w.trees[w.order[0]].raw)
		delete(w.trees, w.order[0])
		w.order = w.order[1:]
	}
	w.treeBytes += len(raw)
	w.trees[h] = t
	w.order = append(w.order, h)
	return t, nil
}

// recodeTree decodes a tree that parseRaw refused and encodes it as
// go-git would write it, for the walk to read.
func recodeTree(data []byte) ([]byte, []rawEntry, error) {
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.TreeObject)
	if _, err := obj.Write(data); err != nil {
		return nil, nil, err
	}
	var t object.Tree
	if err := t.Decode(obj); err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	for _, e := range t.Entries {
		if e.Mode == filemode.Deprecated {
			e.Mode = filemode.Regular
		}
		fmt.Fprintf(&b, "%o %s", e.Mode, e.Name)
		b.WriteByte(0)
		b.Write(e.Hash[:])
	}
	raw := b.Bytes()
	entries, err := parseRaw(raw)
	if err != nil {
		// Names twice or out of order: no tree git would write.
		return nil, nil, fmt.Errorf("malformed tree: %w", err)
	}
	return raw, entries, nil
}

// locate returns the entries on the walk's path in the tree root:
// entries[0] the root, entries[i+1] that of segs[i]. Where the id of an
// entry equals the one in same (the same path in the commit after, or
// nil), the entries below are taken from same unread.
func (w *historyWalk) locate(root plumbing.Hash, same []pathEntry) ([]pathEntry, error) {
	return w.locateSegs(root, w.segs, same)
}

func (w *historyWalk) locateSegs(root plumbing.Hash, segs []string, same []pathEntry) ([]pathEntry, error) {
	out := make([]pathEntry, len(segs)+1)
	out[0] = pathEntry{hash: root, dir: true}
	for i, seg := range segs {
		if same != nil && out[i] == same[i] {
			copy(out[i:], same[i:])
			return out, nil
		}
		if out[i].hash.IsZero() || !out[i].dir {
			return out, nil // absent below
		}
		t, err := w.tree(out[i].hash, i > 0)
		if err != nil {
			return nil, err
		}
		j := t.find(seg)
		if j < 0 {
			return out, nil
		}
		full := strings.Join(segs[:i+1], "/")
		switch mode := t.mode(j); {
		case mode == filemode.Symlink || mode == filemode.Submodule:
			return nil, &LinkError{Path: full, Submodule: mode == filemode.Submodule}
		case i == len(segs)-1 && mode == filemode.Dir:
			return nil, fmt.Errorf("%s is a folder, not an object's file", canonical.Shown(full))
		case i < len(segs)-1 && mode != filemode.Dir:
			return nil, fmt.Errorf("%s is a file, not a folder", canonical.Shown(full))
		}
		out[i+1] = pathEntry{hash: t.entries[j].hash(t.raw), dir: t.entries[j].dir}
	}
	return out, nil
}

// blob reads the blob id ("": none, nil), refusing one larger than
// MaxObjectFile.
func (w *historyWalk) blob(id string) ([]byte, error) {
	if id == "" {
		return nil, nil
	}
	if w.lastBlob.id == id {
		return w.lastBlob.data, nil
	}
	data, err := w.read(plumbing.NewHash(id), plumbing.BlobObject)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", id, err)
	}
	if len(data) > MaxObjectFile {
		return nil, fmt.Errorf("blob %.12s is %d bytes, more than the %d MiB an object's file can be: it is no file kubesnap wrote", id, len(data), MaxObjectFile>>20)
	}
	w.lastBlob.id, w.lastBlob.data = id, data
	return data, nil
}

// where names commit c in an error of the walk: a LinkError gets it as
// its place, others say it.
func (w *historyWalk) where(err error, c *rawCommit) error {
	var link *LinkError
	if errors.As(err, &link) {
		if link.Where == "" {
			link.Where = "commit " + c.hash.String()[:12]
		}
		return link
	}
	return fmt.Errorf("history of %s at commit %.12s: %w", w.relative(), c.hash, err)
}
