package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var (
	_ snapsync.Store  = (*Repo)(nil)
	_ snapsync.Remote = (*Repo)(nil)
	_ snapsync.Tagger = (*Repo)(nil)

	_ snapsync.Prefixed = (*Repo)(nil)
)

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

	// indexInBackground is Options.IndexInBackground; bg the index
	// write it started (index_background.go).
	indexInBackground bool
	bg                bgIndex

	// trees keeps the trees commits wrote or read last (tree_raw.go).
	trees   treeCache
	treesMu gosync.Mutex

	// claims is the loose objects this process's maintenance gathers,
	// left alone by a loose pack beside it (maintain_loose.go).
	claims maintClaims
}

// Branch is the short name of the branch commits go to.
func (r *Repo) Branch() string { return r.branch.Short() }

// Prefix is the folder the files live under (Options.Prefix, cleaned),
// "" for the top. It is sync.Prefixed: commits name it in a trailer.
func (r *Repo) Prefix() string { return r.prefix }

// full is the repository path of a path relative to the prefix.
func (r *Repo) full(p string) string {
	if r.prefix == "" {
		return p
	}
	return r.prefix + "/" + p
}

// relative returns p relative to the prefix, when it is below it.
func (r *Repo) relative(p string) (string, bool) {
	if r.prefix == "" {
		return p, true
	}
	return strings.CutPrefix(p, r.prefix+"/")
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
