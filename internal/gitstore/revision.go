package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

var _ snapsync.Reader = (*Revision)(nil)

// Revision is the repository's files, under the prefix, as one commit
// holds them. It reads what a diff or restore compares with the cluster.
type Revision struct {
	repo   *Repo
	commit *object.Commit
	// Name is the revision as the user gave it ("HEAD~3", "v1").
	Name string
}

// At resolves rev (a commit id or a prefix of one, a branch, a tag, HEAD,
// and git's suffixes: "HEAD~3", "main^2") to the commit it names. "" is the
// branch head.
func (r *Repo) At(rev string) (*Revision, error) {
	if r.repo == nil {
		return nil, fmt.Errorf("repository %s has no commits yet: run kubesnap snapshot first", r.dir)
	}
	name := rev
	switch {
	case rev == "" && r.branch == "": // a detached HEAD, read only
		name, rev = "HEAD", "HEAD"
	case rev == "":
		name = r.branch.Short()
		rev = r.branch.String()
	}
	if name != "HEAD" && rev == r.branch.String() {
		if c, err := r.head(); err == nil && c == nil {
			return nil, fmt.Errorf("branch %s of repository %s has no commits yet: run kubesnap snapshot first", name, r.dir)
		}
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	// io.EOF: "HEAD~5" walked past the first commit.
	if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("revision %q not found in %s: give a commit, branch, tag or HEAD~N (see kubesnap log)", name, r.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("revision %q in %s: %w", name, r.dir, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("revision %q: %w", name, err)
	}
	return &Revision{repo: r, commit: c, Name: name}, nil
}

// Commit is the id of the revision's commit.
func (v *Revision) Commit() string { return v.commit.Hash.String() }

// Message is the revision's commit message.
func (v *Revision) Message() string { return v.commit.Message }

// Files returns the blob id of every file under the prefix.
func (v *Revision) Files(context.Context) (map[string]string, error) {
	return v.repo.files(v.commit, v.repo.prefix)
}

// BlobID returns the git blob id of data.
func (v *Revision) BlobID(data []byte) string { return v.repo.BlobID(data) }

// Read returns the content of p, relative to the prefix.
func (v *Revision) Read(_ context.Context, p string) ([]byte, error) {
	f, err := v.commit.File(v.repo.full(p))
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, fmt.Errorf("%s is not in revision %s", p, v.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, v.Name, err)
	}
	s, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, v.Name, err)
	}
	return []byte(s), nil
}

// Before returns the newest commit of the branch made at or before t (by
// its committer time), following first parents: "the backup as it was at
// 03:00".
func (r *Repo) Before(t time.Time) (*Revision, error) {
	c, err := r.head()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("repository %s has no commits yet: run kubesnap snapshot first", r.dir)
	}
	for {
		if !c.Committer.When.After(t) {
			return &Revision{repo: r, commit: c, Name: c.Hash.String()[:7] + " (" + c.Committer.When.UTC().Format(time.RFC3339) + ")"}, nil
		}
		if c.NumParents() == 0 {
			return nil, fmt.Errorf("branch %s has no commit before %s: its first is from %s (see kubesnap log)", r.branch.Short(), t.UTC().Format(time.RFC3339), c.Committer.When.UTC().Format(time.RFC3339))
		}
		if c, err = c.Parent(0); err != nil {
			return nil, fmt.Errorf("read history of %s: %w", r.branch.Short(), err)
		}
	}
}

// Tag points the lightweight tag name at the revision's commit. It
// refuses to move an existing tag.
func (v *Revision) Tag(name string) error {
	return v.repo.tagCommit(name, v.commit.Hash)
}
