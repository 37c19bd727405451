// Package gitstore is kubesnap's only go-git code: it reads trees at a
// revision and writes commits from changed paths, touching only the blobs
// and trees on those paths, never scanning the whole worktree. It pushes
// the branch to a remote and pulls it back (see SetRemote), replaying its
// commits over another writer's instead of forcing (see rebase.go). With a
// base revision it writes drift commits: the live state on top of the base,
// on a branch that is not checked out (see base.go).
package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var (
	_ snapsync.Store  = (*Repo)(nil)
	_ snapsync.Remote = (*Repo)(nil)
	_ snapsync.Tagger = (*Repo)(nil)
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
}

// Repo is a git repository on disk that kubesnap commits to.
type Repo struct {
	dir    string
	repo   *git.Repository
	branch plumbing.ReferenceName
	prefix string
	author object.Signature
	now    func() time.Time
	bare   bool // create a bare repository

	packed packed    // blobs Stage compressed for the next Commit
	early  early     // files Stage wrote for the next Commit
	remote *remote   // where Pull and Push go; nil until SetRemote
	base   *Revision // Options.Base resolved; nil for none

	// work is the worktree as the current Commit or checkout writes it
	// (see workdir.go); nil between them.
	work   *workdir
	workMu gosync.Mutex

	// The index as last written, and its file's size and time then.
	index     *index.Index
	indexSize int64
	indexTime time.Time
	// indexFile is the index file's bytes as kubesnap last wrote them
	// (encodeIndex, patchIndex), and indexAt the offset of each entry in
	// it, so that a commit that only changes entries in place rewrites
	// their bytes alone; nil when go-git wrote the index or it was read
	// from disk.
	indexFile []byte
	indexAt   []int
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
	r := &Repo{dir: dir, prefix: strings.Trim(path.Clean("/"+opts.Prefix), "/"), author: object.Signature{Name: opts.AuthorName, Email: opts.AuthorEmail}, now: time.Now, bare: opts.Bare}
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

// Branch is the short name of the branch commits go to.
func (r *Repo) Branch() string { return r.branch.Short() }

// full is the repository path of a path relative to the prefix.
func (r *Repo) full(p string) string {
	if r.prefix == "" {
		return p
	}
	return r.prefix + "/" + p
}

// create makes the repository, with HEAD on the branch, if it does not
// exist yet.
func (r *Repo) create() error {
	if r.repo != nil {
		return nil
	}
	repo, err := git.PlainInitWithOptions(r.dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: r.branch},
		Bare:        r.bare,
	})
	if errors.Is(err, git.ErrRepositoryAlreadyExists) {
		repo, err = git.PlainOpen(r.dir) // made since Open looked
	}
	if err != nil {
		return fmt.Errorf("create repository %s: %w", r.dir, err)
	}
	r.repo = repo
	return nil
}

// head returns the branch head commit, or nil when the branch has none.
func (r *Repo) head() (*object.Commit, error) {
	if r.repo == nil {
		return nil, nil
	}
	ref, err := r.repo.Storer.Reference(r.branch)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.branch.Short(), err)
	}
	c, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s of %s: %w", ref.Hash(), r.branch.Short(), err)
	}
	return c, nil
}

// subtree returns the tree at dir ("" for the root) of c, or nil.
func (r *Repo) subtree(c *object.Commit, dir string) (*object.Tree, error) {
	if c == nil {
		return nil, nil
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	if dir == "" {
		return t, nil
	}
	t, err = t.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", dir, c.Hash, err)
	}
	return t, nil
}

// walkTree calls fn for every entry but folders below dir of c (regular
// files, links and submodules), with its path relative to dir. A folder
// on the way to dir that is a link or a submodule is a *LinkError: the
// files below it are not where the revision seems to keep them.
func (r *Repo) walkTree(c *object.Commit, dir string, fn func(name string, e object.TreeEntry) error) error {
	if err := r.checkAbove(c, dir); err != nil {
		return err
	}
	t, err := r.subtree(c, dir)
	if err != nil || t == nil {
		return err
	}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk %s: %w", dir, err)
		}
		if e.Mode == filemode.Dir {
			continue
		}
		if err := fn(name, e); err != nil {
			return err
		}
	}
}

// checkAbove refuses a link or a submodule at dir or a folder above it in
// c.
func (r *Repo) checkAbove(c *object.Commit, dir string) error {
	if c == nil || dir == "" {
		return nil
	}
	t, err := c.Tree()
	if err != nil {
		return fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	segs := strings.Split(dir, "/")
	for i := range segs {
		p := strings.Join(segs[:i+1], "/")
		e, err := t.FindEntry(p)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", p, c.Hash, err)
		}
		if e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
			return &LinkError{Path: p, Submodule: e.Mode == filemode.Submodule, Where: "commit " + c.Hash.String()[:12]}
		}
		if e.Mode != filemode.Dir {
			return nil
		}
	}
	return nil
}

// files lists path → blob id of the files below dir of c, paths relative
// to dir. A link or a submodule there is a *LinkError naming it: kubesnap
// neither follows one when reading a revision nor writes through one.
func (r *Repo) files(c *object.Commit, dir string) (map[string]string, error) {
	out := map[string]string{}
	err := r.walkTree(c, dir, func(name string, e object.TreeEntry) error {
		if e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
			full := name
			if dir != "" {
				full = dir + "/" + name
			}
			return &LinkError{Path: full, Submodule: e.Mode == filemode.Submodule, Where: "commit " + c.Hash.String()[:12]}
		}
		out[name] = e.Hash.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Files returns the blob id of every file under the prefix at the branch
// head, or at the base when there is one.
func (r *Repo) Files(ctx context.Context) (map[string]string, error) {
	if r.base != nil {
		return r.base.Files(ctx)
	}
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	return r.files(c, r.prefix)
}

// BlobID returns the git blob id of data.
func (r *Repo) BlobID(data []byte) string {
	return plumbing.ComputeHash(plumbing.BlobObject, data).String()
}

// Read returns the content of p (relative to the prefix) at the branch
// head, or at the base when there is one.
func (r *Repo) Read(ctx context.Context, p string) ([]byte, error) {
	if r.base != nil {
		return r.base.Read(ctx, p)
	}
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("read %s: branch %s has no commits", p, r.branch.Short())
	}
	return (&Revision{repo: r, commit: c, Name: r.branch.Short()}).Read(ctx, p)
}

// Tag points the lightweight tag name at the branch head. It refuses to
// move an existing tag.
func (r *Repo) Tag(name string) error {
	c, err := r.head()
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("tag %s: branch %s has no commits", name, r.branch.Short())
	}
	return r.tagCommit(name, c.Hash)
}

// tagCommit points the lightweight tag name at commit h, refusing to move
// an existing tag.
func (r *Repo) tagCommit(name string, h plumbing.Hash) error {
	ref := plumbing.NewTagReferenceName(name)
	if _, err := r.repo.Storer.Reference(ref); err == nil {
		return fmt.Errorf("tag %s exists already: choose another name", name)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	return nil
}
