package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/kubesnap/kubesnap/canonical"
)

// Options choose where in the repository kubesnap writes.
type Options struct {
	// Branch is the branch commits go to; "" means the branch HEAD names
	// ("main" in a new repository).
	Branch string
	// Prefix is the folder all files live under (--path); "" for the top.
	Prefix string
	// AuthorName and AuthorEmail sign the commits; empty means
	// kubesnap <kubesnap@localhost>.
	AuthorName, AuthorEmail string
	// ReadOnly opens a repository only to read revisions (diff,
	// restore): a detached HEAD is fine (At("") is then HEAD), and an
	// interrupted commit of a running writer is left for that writer to
	// finish. Commit must not be called.
	ReadOnly bool
	// Bare makes a repository created by kubesnap a bare one: no
	// worktree and no index, so a commit writes only git objects. An
	// existing repository stays what it is.
	Bare bool
	// Base, when set, is a revision (commit, branch, tag, HEAD~N) the
	// branch records drift from: Files and Read give its tree, and Commit
	// writes its tree plus the changes onto the branch, with the base as
	// a parent when the branch does not have it yet (see base.go). The
	// branch must not be the one checked out.
	Base string
	// IndexInBackground makes Commit return once the branch has moved
	// and the changed files are written, and write the index in the
	// background (index_background.go): the index holds an entry per
	// file and a checksum of all of it, so writing it is what grows with
	// the repository in a one-file commit. Meanwhile git status shows
	// the files just committed as changed. The write waits until the
	// commits pause (a quarter second, at most five seconds), so that a
	// burst of commits writes the index once. The next commit adds to a
	// write that has not started; any other operation that needs the
	// index or the journal writes it first; Flush writes it and says how
	// it went.
	IndexInBackground bool
}

// Open opens the repository at dir, creating it (with branch main) when dir
// does not exist or is empty. It refuses a dir that is a file or a non-empty
// folder that is not a repository.
func Open(dir string, opts Options) (*Repo, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && opts.ReadOnly:
		return nil, fmt.Errorf("repository %s does not exist: give --repo the folder kubesnap snapshot wrote to", dir)
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("repository %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("repository %s is a file, not a folder: give --repo a folder (it is created if missing)", dir)
	}
	r := &Repo{dir: dir, prefix: strings.Trim(path.Clean("/"+opts.Prefix), "/"), author: object.Signature{Name: opts.AuthorName, Email: opts.AuthorEmail}, now: time.Now, bare: opts.Bare, indexInBackground: opts.IndexInBackground}
	for seg := range strings.SplitSeq(r.prefix, "/") {
		if strings.EqualFold(seg, ".git") {
			return nil, fmt.Errorf("--path %s: a folder named .git is git's own: choose another", canonical.Shown(opts.Prefix))
		}
	}
	if r.author.Name == "" {
		r.author = object.Signature{Name: "kubesnap", Email: "kubesnap@localhost"}
	}
	if opts.Branch != "" {
		r.branch = plumbing.NewBranchReferenceName(opts.Branch)
	}
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		entries, rerr := os.ReadDir(dir)
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("repository %s: %w", dir, rerr)
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("repository %s is a folder with files but not a git repository: give --repo an empty folder or a git repository", dir)
		}
		if opts.Base != "" {
			return nil, fmt.Errorf("--base %s: repository %s has no commits yet: run kubesnap snapshot first", opts.Base, dir)
		}
		// Created by the first commit, so that a run that fails before
		// it (an unreachable cluster) leaves nothing behind.
		if r.branch == "" {
			r.branch = plumbing.NewBranchReferenceName("main")
		}
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", dir, err)
	}
	r.repo = repo
	if r.branch == "" {
		head, err := repo.Storer.Reference(plumbing.HEAD)
		if err != nil {
			return nil, fmt.Errorf("repository %s: read HEAD: %w", dir, err)
		}
		switch {
		case head.Type() == plumbing.SymbolicReference:
			r.branch = head.Target()
		case !opts.ReadOnly:
			return nil, fmt.Errorf("repository %s: HEAD is detached: check out a branch or give --branch", dir)
		}
	}
	if !opts.ReadOnly {
		if err := r.recover(); err != nil {
			return nil, err
		}
	}
	if opts.Base != "" {
		if err := r.setBase(opts.Base); err != nil {
			return nil, err
		}
	}
	return r, nil
}
