package gitstore

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

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
