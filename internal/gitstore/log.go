package gitstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Entry is one commit of the catalog.
type Entry struct {
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"`
	Changed int       `json:"objectsChanged"`
	Summary string    `json:"summary"`
}

// LogOptions page the catalog.
type LogOptions struct {
	// Limit is how many commits to list at most; 0 for all.
	Limit int
	// Since and Until bound the commit times (inclusive); zero for no
	// bound.
	Since, Until time.Time
}

// Log calls fn for the commits of the branch that changed something under
// the prefix, newest first along first parents, and stops at the first
// error fn returns. Changed counts the files under the prefix, but for
// .kubesnap/, that the commit added, modified or deleted. Log reads commit
// objects only, taking the count and the folder from the commit's
// trailers (see listed), and stops reading at Limit or at the first
// commit older than Since: it assumes the committer times of a branch
// kubesnap writes do not go back (one writer's clock, commits made one
// after the other, rebased commits re-dated), so a clock stepped back
// may end a --since listing early.
func (r *Repo) Log(opts LogOptions, fn func(Entry) error) error {
	c, err := r.head()
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("branch %s of repository %s has no commits yet: run kubesnap snapshot first", r.branch.Short(), r.dir)
	}
	for n := 0; c != nil && (opts.Limit <= 0 || n < opts.Limit); {
		when := c.Committer.When
		if !opts.Since.IsZero() && when.Before(opts.Since) {
			return nil
		}
		var parent *object.Commit
		if c.NumParents() > 0 {
			if parent, err = c.Parent(0); err != nil {
				return fmt.Errorf("read history of %s: parent of %s: %w", r.branch.Short(), c.Hash, err)
			}
		}
		if opts.Until.IsZero() || !when.After(opts.Until) {
			changed, ok, err := r.listed(c, parent)
			if err != nil {
				return err
			}
			if ok {
				subject, _, _ := strings.Cut(c.Message, "\n")
				if err := fn(Entry{Commit: c.Hash.String(), Time: when.UTC(), Changed: changed, Summary: subject}); err != nil {
					return err
				}
				n++
			}
		}
		c = parent
	}
	return nil
}

// listed says whether c changed something under the prefix against its
// first parent, and how many files. A commit kubesnap wrote says it in its
// trailers: Kubesnap-Changed for the files it changed, all under its
// Kubesnap-Path (the top when it has none). Such a commit under the prefix
// is listed with its count, one beside it is not; one that says nothing
// (written by an older kubesnap, by hand, or a drift commit), or whose
// folder holds the prefix, is read from its trees: not listed when its
// prefix folder is its parent's (compared by id, with no log --path
// every commit is listed), else listed with the files the trees differ
// in.
func (r *Repo) listed(c, parent *object.Commit) (int, bool, error) {
	if n, ok := snapsync.ChangedOf(c.Message); ok {
		path, _ := snapsync.Trailer(c.Message, snapsync.PathTrailer)
		switch {
		case below(path, r.prefix):
			return n, true, nil
		case !below(r.prefix, path):
			return 0, false, nil
		}
	}
	if r.prefix != "" {
		same, err := r.sameFolder(c, parent)
		if err != nil || same {
			return 0, false, err
		}
	}
	n, err := r.changed(c, parent)
	return n, err == nil, err
}

// below reports whether p is dir or a path below it; everything is below
// the top ("").
func below(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}
