package gitstore

import (
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// replayed is what replay made of a chain.
type replayed struct {
	head     plumbing.Hash                   // the last commit: the remote head when none was made
	replaced map[plumbing.Hash]plumbing.Hash // each commit of the chain → the one that replaces it
	touched  map[string]bool                 // repository paths the chain changed
}

// replay stages, onto remote, one commit per commit of chain (oldest
// first) with the same changes, author and message, committed now. A
// commit whose changes the remote has already is replaced by the commit
// before it.
func (r *Repo) replay(st *staging, remote *object.Commit, chain []*object.Commit) (replayed, error) {
	re := replayed{head: remote.Hash, replaced: map[plumbing.Hash]plumbing.Hash{}, touched: map[string]bool{}}
	tree := remote.TreeHash
	now := r.now()
	for _, c := range chain {
		edits, err := r.edits(c)
		if err != nil {
			return re, err
		}
		for p := range edits {
			re.touched[p] = true
		}
		t, _, err := r.writeTree(st, tree, edits)
		if err != nil {
			return re, err
		}
		if t == tree { // the remote has these changes already
			re.replaced[c.Hash] = re.head
			continue
		}
		committer := c.Committer
		committer.When = now.In(c.Committer.When.Location())
		commit := &object.Commit{Author: c.Author, Committer: committer, Message: c.Message, TreeHash: t, ParentHashes: []plumbing.Hash{re.head}}
		obj := &plumbing.MemoryObject{}
		if err := commit.Encode(obj); err != nil {
			return re, fmt.Errorf("encode commit: %w", err)
		}
		st.objects[obj.Hash()] = obj
		re.head, tree = obj.Hash(), t
		re.replaced[c.Hash] = re.head
	}
	return re, nil
}

// conflicts lists, relative to the prefix and sorted, the paths of
// touched (repository paths) whose file at fork differs from remote's:
// both sides changed them since fork, and the replay kept ours.
func (r *Repo) conflicts(fork, remote *object.Commit, touched map[string]bool) ([]string, error) {
	var out []string
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
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out, nil
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
