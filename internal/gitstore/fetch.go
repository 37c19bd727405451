package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// fetch downloads the remote branch's commits we lack, records the remote
// branch in the tracking ref and returns its head; zero when the remote
// has no such branch.
func (r *Repo) fetch(ctx context.Context) (plumbing.Hash, error) {
	rm := r.remote
	sess, err := rm.client.NewUploadPackSession(rm.endpoint, rm.auth)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ref, err := refs.Reference(r.branch)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	want := ref.Hash()
	if r.repo.Storer.HasEncodedObject(want) != nil {
		req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
		if ar.Capabilities.Supports(capability.NoProgress) {
			if err := req.Capabilities.Set(capability.NoProgress); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		req.Wants = []plumbing.Hash{want}
		if req.Haves, err = r.haves(); err != nil {
			return plumbing.ZeroHash, &localError{err}
		}
		res, err := sess.UploadPack(ctx, req)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		var in io.Reader = res
		switch {
		case req.Capabilities.Supports(capability.Sideband64k):
			in = sideband.NewDemuxer(sideband.Sideband64k, res)
		case req.Capabilities.Supports(capability.Sideband):
			in = sideband.NewDemuxer(sideband.Sideband, res)
		}
		err = packfile.UpdateObjectStorage(r.repo.Storer, in)
		if cerr := res.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("receive %s: %w", want, err)
		}
	}
	return want, r.setTracking(want)
}

// haveCommits is how many commits of the branch fetch offers as common
// ground; the remote sends everything after the newest it knows.
const haveCommits = 64

// haves lists commits the remote likely has: the remote branch as last
// seen, the heads of the other local and remote-tracking branches (a
// fresh clone fetching a drift branch made from main has main), and the
// newest commits of ours.
func (r *Repo) haves() ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	if h := r.trackingHead(); !h.IsZero() && r.repo.Storer.HasEncodedObject(h) == nil {
		out = append(out, h)
	}
	refs, err := r.repo.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name()
		if ref.Type() == plumbing.HashReference && name != r.branch && (name.IsBranch() || name.IsRemote()) && len(out) < haveCommits && r.repo.Storer.HasEncodedObject(ref.Hash()) == nil {
			out = append(out, ref.Hash())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	head, err := r.head()
	if err != nil || head == nil {
		return out, err
	}
	iter := object.NewCommitPreorderIter(head, nil, nil)
	defer iter.Close()
	err = iter.ForEach(func(c *object.Commit) error {
		if len(out) >= 2*haveCommits {
			return storer.ErrStop
		}
		out = append(out, c.Hash)
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, fmt.Errorf("read history of %s: %w", r.branch.Short(), err)
	}
	return out, nil
}
