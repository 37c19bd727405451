package gitstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// ObjectChange is one commit that changed an object's file.
type ObjectChange struct {
	Commit string
	// Time is the committer's time, as kubesnap log shows it.
	Time time.Time
	// Author is the commit's author name: the user the watcher names, or
	// "kubesnap" in older commits.
	Author  string
	Message string
	// Op is Added (the file appeared: created, re-created, or moved here
	// from another group), Modified or Deleted.
	Op snapsync.Op
	// Path is the file, relative to the prefix, after the commit (before
	// it for a deletion); From is where it was before the commit when it
	// moved there from another group's folder, else "".
	Path, From string
	// Before and After are the blob ids of the two versions, "" for none.
	Before, After string
	// BeforeData and AfterData are the two versions' contents, with
	// HistoryOptions.Contents; nil for none.
	BeforeData, AfterData []byte
}

// HistoryOptions page a history.
type HistoryOptions struct {
	// Limit is how many changes to list at most; 0 for all.
	Limit int
	// Since and Until bound the commit times (inclusive); zero for no
	// bound.
	Since, Until time.Time
	// Start is the commit (a full id, as Revision.Commit gives it) the
	// walk starts at; "" for the branch head.
	Start string
	// Contents fills each change's BeforeData and AfterData, read by the
	// walk's own pack reader (a file over MaxObjectFile is an error).
	Contents bool
}

// History calls fn for the commits of the branch that changed the file p
// (relative to the prefix: namespaces/<ns>/<resource>[.<group>]/<name>.yaml
// or cluster/<resource>[.<group>]/<name>.yaml), newest first along first
// parents, and stops at the first error fn returns.
//
// It follows the object through deletion and re-creation (the walk goes
// on past commits that lack the file) and across a change of group: when
// a commit adds the file and, in the same commit, removes the file of the
// same name from a folder of the same resource in another group
// (ingresses.extensions → ingresses.networking.k8s.io), the older commits
// are read at that folder.
//
// The walk reads commit headers and, per commit, only the trees on the
// file's path whose ids differ from the parent's (historyWalk), never a
// diff of the whole tree. Like Log it stops at the first commit older
// than Since, assuming committer times do not go back.
func (r *Repo) History(p string, opts HistoryOptions, fn func(ObjectChange) error) error {
	if err := checkName(p); err != nil {
		return err
	}
	head, err := r.headHash()
	if err != nil {
		return err
	}
	if opts.Start != "" {
		if head = plumbing.NewHash(opts.Start); head.String() != opts.Start {
			return fmt.Errorf("history of %s: %q is not a commit id", canonical.Shown(p), opts.Start)
		}
	}
	w, done := newHistoryWalk(r, r.full(p))
	defer done()
	w.contents = opts.Contents
	if historyWalked != nil {
		defer func() { historyWalked(w) }()
	}
	next, stop := w.ahead(head)
	defer stop() // before done closes the packs
	n := 0
	c, err := next()
	if err != nil {
		return err
	}
	cur, err := w.locate(c.tree, nil)
	if err != nil {
		return w.where(err, c)
	}
	for c != nil && (opts.Limit <= 0 || n < opts.Limit) {
		if !opts.Since.IsZero() && c.when.Before(opts.Since) {
			return nil
		}
		var parent *rawCommit
		var prev []pathEntry
		if !c.parent.IsZero() {
			if parent, err = next(); err != nil {
				return err
			}
			if prev, err = w.locate(parent.tree, cur); err != nil {
				return w.where(err, parent)
			}
		}
		ch, moved, err := w.change(c, parent, cur, prev)
		if err != nil {
			return err
		}
		if ch != nil && (opts.Until.IsZero() || !c.when.After(opts.Until)) {
			if err := fn(*ch); err != nil {
				return err
			}
			n++
		}
		if moved != nil {
			prev = moved
		}
		c, cur = parent, prev
	}
	return nil
}

// historyWalked, when set (by the benchmark), is called with each walk
// when it ends, to report what it read.
var historyWalked func(*historyWalk)

// headHash is the branch head's commit id; an error for a branch with no
// commits.
func (r *Repo) headHash() (plumbing.Hash, error) {
	if r.repo == nil {
		return plumbing.ZeroHash, fmt.Errorf("repository %s has no commits yet: run kubesnap snapshot first", r.dir)
	}
	name := r.branch
	if name == "" {
		name = plumbing.HEAD
	}
	ref, err := r.repo.Reference(name, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, fmt.Errorf("branch %s of repository %s has no commits yet: run kubesnap snapshot first", name.Short(), r.dir)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", name.Short(), err)
	}
	return ref.Hash(), nil
}

// change compares the file at cur in c with prev in parent (nil: none)
// and returns c's change, or nil when the file is the same. When c added
// the file and moved it from another group's folder, moved is where the
// walk goes on in parent.
func (w *historyWalk) change(c, parent *rawCommit, cur, prev []pathEntry) (ch *ObjectChange, moved []pathEntry, err error) {
	after, before := cur[len(cur)-1].hash, plumbing.ZeroHash
	if prev != nil {
		before = prev[len(prev)-1].hash
	}
	if after == before {
		return nil, nil, nil
	}
	out := ObjectChange{Path: w.relative(), Before: idOf(before), After: idOf(after)}
	switch {
	case before.IsZero():
		out.Op = snapsync.Added
		if parent != nil {
			from, entries, err := w.movedFrom(c, parent, cur, prev)
			if err != nil {
				return nil, nil, err
			}
			if from != "" {
				out.From, out.Before, moved = from, idOf(entries[len(entries)-1].hash), entries
			}
		}
	case after.IsZero():
		out.Op = snapsync.Deleted
	default:
		out.Op = snapsync.Modified
	}
	if err := w.describe(c, &out); err != nil {
		return nil, nil, err
	}
	if w.contents {
		var err error
		if out.BeforeData, err = w.blob(out.Before); err != nil {
			return nil, nil, fmt.Errorf("history of %s at commit %.12s: %w", w.relative(), c.hash, err)
		}
		if out.AfterData, err = w.blob(out.After); err != nil {
			return nil, nil, fmt.Errorf("history of %s at commit %.12s: %w", w.relative(), c.hash, err)
		}
	}
	return &out, moved, nil
}

func idOf(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// movedFrom looks, when c added the file, for the same file name in a
// folder of the same resource in another group that parent holds and c
// does not: the object moved to this group. It returns that path
// (relative to the prefix) and its entries in parent, and switches the
// walk to it; "" when there is none.
func (w *historyWalk) movedFrom(c, parent *rawCommit, cur, prev []pathEntry) (string, []pathEntry, error) {
	// The folder holding the type folders: namespaces/<ns> or cluster.
	k := len(w.segs) - 2
	if prev[k].hash.IsZero() {
		return "", nil, nil // the namespace itself is new
	}
	folder, err := w.tree(prev[k].hash, true)
	if err != nil {
		return "", nil, w.where(err, parent)
	}
	resource, _, _ := strings.Cut(w.segs[k], ".")
	var mine *rawTree
	if !cur[k].hash.IsZero() {
		if mine, err = w.tree(cur[k].hash, true); err != nil {
			return "", nil, w.where(err, c)
		}
	}
	for i := range folder.entries {
		name := folder.name(i)
		if name == w.segs[k] || !folder.entries[i].dir || (name != resource && !strings.HasPrefix(name, resource+".")) {
			continue
		}
		segs := append(append([]string{}, w.segs[:k]...), name, w.segs[k+1])
		there, err := w.locateSegs(parent.tree, segs, nil)
		if err != nil {
			return "", nil, w.where(err, parent)
		}
		if there[len(there)-1].hash.IsZero() {
			continue
		}
		if mine != nil {
			if j := mine.find(name); j >= 0 && mine.entries[j].dir {
				here, err := w.locateSegs(c.tree, segs, nil)
				if err != nil {
					return "", nil, w.where(err, c)
				}
				if !here[len(here)-1].hash.IsZero() {
					continue // still there: another object of that name
				}
			}
		}
		from := strings.Join(segs, "/")
		w.segs = segs
		rel, _ := w.r.relative(from)
		return rel, there, nil
	}
	return "", nil, nil
}

// relative is the walk's current path relative to the prefix.
func (w *historyWalk) relative() string {
	rel, _ := w.r.relative(strings.Join(w.segs, "/"))
	return rel
}
