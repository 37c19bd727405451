package gitstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Entry is one commit of the catalog.
type Entry struct {
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"`
	Changed int       `json:"objectsChanged"`
	Summary string    `json:"summary"`
}

// Log lists the commits of the branch, newest first, at most limit of them
// (0 for all). Changed counts the object files under the prefix that the
// commit added, modified or deleted.
func (r *Repo) Log(limit int) ([]Entry, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	if head == nil {
		return nil, fmt.Errorf("branch %s of repository %s has no commits yet: run kubesnap snapshot first", r.branch.Short(), r.dir)
	}
	iter := object.NewCommitPreorderIter(head, nil, nil)
	defer iter.Close()
	var out []Entry
	err = iter.ForEach(func(c *object.Commit) error {
		if limit > 0 && len(out) == limit {
			return storer.ErrStop
		}
		n, err := r.changed(c)
		if err != nil {
			return err
		}
		subject, _, _ := strings.Cut(c.Message, "\n")
		out = append(out, Entry{Commit: c.Hash.String(), Time: c.Committer.When.UTC(), Changed: n, Summary: subject})
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, fmt.Errorf("read history of %s: %w", r.branch.Short(), err)
	}
	return out, nil
}

// changed counts object files below the prefix that c changed against its
// first parent. Unchanged subtrees are compared by id, not read.
func (r *Repo) changed(c *object.Commit) (int, error) {
	after, err := r.subtree(c, r.prefix)
	if err != nil {
		return 0, err
	}
	var before *object.Tree
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return 0, fmt.Errorf("read parent of %s: %w", c.Hash, err)
		}
		if before, err = r.subtree(p, r.prefix); err != nil {
			return 0, err
		}
	}
	if before == nil && after == nil {
		return 0, nil
	}
	if before == nil {
		before = &object.Tree{}
	}
	if after == nil {
		after = &object.Tree{}
	}
	changes, err := object.DiffTree(before, after)
	if err != nil {
		return 0, fmt.Errorf("diff %s: %w", c.Hash, err)
	}
	n := 0
	for _, ch := range changes {
		name := ch.To.Name
		if name == "" {
			name = ch.From.Name
		}
		if !strings.HasPrefix(name, ".kubesnap/") {
			n++
		}
	}
	return n, nil
}
