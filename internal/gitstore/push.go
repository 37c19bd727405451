package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Pull, Push and the tag calls speak git's protocol through go-git's
// transports, but choose what to send and fetch themselves: go-git's own
// push walks every object reachable from every remote ref to find what
// the remote lacks, which grows with the repository. Here the objects
// sent are those of our commits the remote lacks, each compared with its
// parent (see collect), so a push costs what it changed.

// Pull brings the remote branch in: it fetches it and, when the local
// branch is missing or behind, fast-forwards it; when both have new
// commits, it replays ours on top of the remote's (see rebase). moved
// reports that the branch head changed, so files read before are stale;
// conflicts names the files (relative to the prefix) both sides changed,
// where ours were kept and which the caller should re-derive. A remote
// without the branch is not an error. A checked-out worktree and the
// index follow the branch, file by changed file.
//
// Pull, Push and Commit must not run at the same time.
func (r *Repo) Pull(ctx context.Context) (moved bool, conflicts []string, err error) {
	rm := r.remote
	if rm == nil {
		return false, nil, fmt.Errorf("pull %s: %w", r.branch.Short(), errNoRemote)
	}
	op := fmt.Sprintf("pull %s from %s", r.branch.Short(), rm.url)
	if err := r.create(); err != nil {
		return false, nil, err
	}
	theirs, err := r.fetchRetrying(ctx, rm)
	if err != nil {
		return false, nil, rm.fail(op, err)
	}
	if theirs.IsZero() {
		return false, nil, nil
	}
	moved, conflicts, err = r.integrate(theirs)
	if err != nil {
		return false, nil, fmt.Errorf("%s: %w", op, err)
	}
	return moved, conflicts, nil
}

// Push sends the branch to the remote as a fast-forward; it never forces.
// When the remote branch has commits we lack (another writer pushed), it
// fetches them, replays our commits on top (rebased is then true, and
// conflicts names the files both sides changed, relative to the prefix;
// ours were kept, the caller re-derives them) and pushes again. Transport
// failures are retried with exponential backoff within ctx; an error
// means the remote did not take our commits.
func (r *Repo) Push(ctx context.Context) (rebased bool, conflicts []string, err error) {
	rm := r.remote
	if rm == nil {
		return false, nil, fmt.Errorf("push %s: %w", r.branch.Short(), errNoRemote)
	}
	op := fmt.Sprintf("push %s to %s", r.branch.Short(), rm.url)
	seen := map[string]bool{}
	var refused bool
	var refusedAt plumbing.Hash
	for round := 1; ; round++ {
		var remoteHead plumbing.Hash
		err := rm.retry(ctx, func(ctx context.Context) error {
			var err error
			remoteHead, err = r.pushBranch(ctx)
			return err
		})
		if err == nil {
			return rebased, conflicts, nil
		}
		var rej *rejectedError
		if !errors.Is(err, errRemoteMoved) && !errors.As(err, &rej) {
			return rebased, conflicts, rm.fail(op, err)
		}
		if rej != nil {
			if refused && remoteHead == refusedAt {
				// Refused twice with the remote where it was: not a
				// race with another writer but a rule of the remote's.
				return rebased, conflicts, rm.fail(op, rej)
			}
			refused, refusedAt = true, remoteHead
		}
		if round >= rm.maxRounds {
			return rebased, conflicts, rm.fail(op, fmt.Errorf("%w: the remote branch moved on %d times while we pushed; will try again", snapsync.ErrLostRace, round))
		}
		if err := rm.contend(ctx, round); err != nil {
			return rebased, conflicts, rm.fail(op, err)
		}
		theirs, err := r.fetchRetrying(ctx, rm)
		if err != nil {
			return rebased, conflicts, rm.fail(op, err)
		}
		if theirs.IsZero() {
			continue // the branch was deleted on the remote: push it anew
		}
		moved, c, err := r.integrate(theirs)
		if err != nil {
			return rebased, conflicts, fmt.Errorf("%s: %w", op, err)
		}
		rebased = rebased || moved
		for _, p := range c {
			if !seen[p] {
				seen[p] = true
				conflicts = append(conflicts, p)
			}
		}
		sort.Strings(conflicts)
	}
}

// trackingHead is the remote branch as last fetched or pushed.
func (r *Repo) trackingHead() plumbing.Hash {
	ref, err := r.repo.Storer.Reference(r.remote.tracking)
	if err != nil {
		return plumbing.ZeroHash
	}
	return ref.Hash()
}

// setTracking records where the remote branch is.
func (r *Repo) setTracking(h plumbing.Hash) error {
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(r.remote.tracking, h)); err != nil {
		return &localError{fmt.Errorf("record %s: %w", r.remote.tracking.Short(), err)}
	}
	return nil
}

// pushBranch pushes the branch once. It returns the remote branch head it
// saw, and errRemoteMoved when that is not an ancestor of ours.
func (r *Repo) pushBranch(ctx context.Context) (plumbing.Hash, error) {
	ours, err := r.head()
	if err != nil {
		return plumbing.ZeroHash, &localError{err}
	}
	var theirs plumbing.Hash
	err = r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
		theirs = refs[r.branch]
		if ours == nil || theirs == ours.Hash {
			return nil, nil, nil
		}
		// The remote's other branches are common ground too: a new
		// branch made from its main (a drift branch) sends only what
		// main lacks, not the whole history.
		var others []plumbing.Hash
		for name, h := range refs {
			if name.IsBranch() && name != r.branch {
				others = append(others, h)
			}
		}
		w, err := r.paint(ours, theirs, others...)
		if err != nil {
			return nil, nil, err
		}
		if !theirs.IsZero() && w.flags[theirs]&fromOurs == 0 {
			return nil, nil, errRemoteMoved
		}
		objs, err := r.collect(w)
		if err != nil {
			return nil, nil, err
		}
		return []*packp.Command{{Name: r.branch, Old: theirs, New: ours.Hash}}, objs, nil
	})
	if err != nil {
		return theirs, err
	}
	if ours != nil {
		return ours.Hash, r.setTracking(ours.Hash)
	}
	return theirs, nil
}

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

// send runs one receive-pack exchange: plan gets the remote's refs and
// returns the ref updates and the objects to send (no commands: nothing
// to do). A command the remote refuses is a *rejectedError.
func (r *Repo) send(ctx context.Context, plan func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error)) error {
	rm := r.remote
	sess, err := rm.client.NewReceivePackSession(rm.endpoint, rm.auth)
	if err != nil {
		return err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	all, err := ar.AllReferences()
	if err != nil {
		return err
	}
	refs := make(map[plumbing.ReferenceName]plumbing.Hash, len(all))
	for name, ref := range all {
		if ref.Type() == plumbing.HashReference {
			refs[name] = ref.Hash()
		}
	}
	cmds, objs, err := plan(refs)
	if err != nil {
		if errors.Is(err, errRemoteMoved) {
			return err
		}
		return &localError{err}
	}
	if len(cmds) == 0 {
		return nil
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = cmds
	// The remote's own words for a refusal (a hook's message, a
	// protected branch, a lock it could not take) come on the side band;
	// quiet keeps its progress off it.
	var said remoteWords
	for _, c := range []capability.Capability{capability.Sideband64k, capability.Sideband} {
		if ar.Capabilities.Supports(c) {
			if err := req.Capabilities.Set(c); err != nil {
				return &localError{err}
			}
			req.Progress = &said
			break
		}
	}
	if req.Progress != nil && ar.Capabilities.Supports(capability.Quiet) {
		if err := req.Capabilities.Set(capability.Quiet); err != nil {
			return &localError{err}
		}
	}
	deletesOnly := true
	for _, c := range cmds {
		if c.Action() != packp.Delete {
			deletesOnly = false
		}
	}
	if deletesOnly && !ar.Capabilities.Supports(capability.DeleteRefs) {
		return &rejectedError{ref: cmds[0].Name, status: "the remote does not allow deleting refs"}
	}
	done := make(chan error, 1)
	if deletesOnly {
		close(done)
	} else {
		pr, pw := io.Pipe()
		req.Packfile = pr
		refDeltas := !ar.Capabilities.Supports(capability.OFSDelta)
		go func() {
			_, err := packfile.NewEncoder(pw, r.repo.Storer, refDeltas).Encode(objs, 10)
			_ = pw.CloseWithError(err) // always nil
			done <- err
		}()
		defer func() { _ = pr.Close() }() // a PipeReader's Close cannot fail; it unblocks the encoder
	}
	report, err := sess.ReceivePack(ctx, req)
	if report != nil {
		if report.UnpackStatus != "" && report.UnpackStatus != "ok" {
			return fmt.Errorf("the remote could not unpack what we sent: %s%s", report.UnpackStatus, said.quote())
		}
		for _, cs := range report.CommandStatuses {
			if cs.Status != "ok" {
				return &rejectedError{ref: cs.ReferenceName, status: cs.Status + said.quote()}
			}
		}
	}
	if err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	return nil
}

// remoteWords keeps the first messages the remote sent on the side band.
type remoteWords struct{ buf []byte }

// maxRemoteWords bounds what a remote may put into our errors and logs.
const maxRemoteWords = 400

func (w *remoteWords) Write(p []byte) (int, error) {
	if room := 4*maxRemoteWords - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// quote returns what the remote said as " (the remote said: …)", on one
// line, without control characters, cut at maxRemoteWords bytes; "" when
// it said nothing.
func (w *remoteWords) quote() string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(w.buf), " "))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	if len(s) > maxRemoteWords {
		s = strings.ToValidUTF8(s[:maxRemoteWords], "") + "…"
	}
	return " (the remote said: " + s + ")"
}

// Tags lists the local tags whose name starts with prefix, sorted.
func (r *Repo) Tags(prefix string) ([]string, error) {
	if r.repo == nil {
		return nil, nil
	}
	iter, err := r.repo.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	var out []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsTag() && strings.HasPrefix(ref.Name().Short(), prefix) {
			out = append(out, ref.Name().Short())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// DeleteTag removes the local tag name; a tag that does not exist is
// not an error.
func (r *Repo) DeleteTag(name string) error {
	if r.repo == nil {
		return nil
	}
	if err := r.repo.Storer.RemoveReference(plumbing.NewTagReferenceName(name)); err != nil {
		return fmt.Errorf("delete tag %s: %w", name, err)
	}
	return nil
}

// PushTags sends the local tags names to the remote. It never moves a
// tag the remote has at another commit: that is an error naming it. Push
// the branch first: Push may rebase and move tags on unpushed commits.
func (r *Repo) PushTags(ctx context.Context, names ...string) error {
	rm := r.remote
	if rm == nil {
		return fmt.Errorf("push tags: %w", errNoRemote)
	}
	if len(names) == 0 {
		return nil
	}
	op := fmt.Sprintf("push tags %s to %s", strings.Join(names, ", "), rm.url)
	local := map[plumbing.ReferenceName]*object.Commit{}
	for _, n := range names {
		name := plumbing.NewTagReferenceName(n)
		var ref *plumbing.Reference
		var err error
		if r.repo != nil {
			ref, err = r.repo.Storer.Reference(name)
		}
		if r.repo == nil || errors.Is(err, plumbing.ErrReferenceNotFound) {
			return fmt.Errorf("push tag %s: no such tag", n)
		}
		if err != nil {
			return fmt.Errorf("push tag %s: %w", n, err)
		}
		c, err := r.repo.CommitObject(ref.Hash())
		if err != nil {
			return fmt.Errorf("push tag %s: read commit %s: %w", n, ref.Hash(), err)
		}
		local[name] = c
	}
	err := rm.retry(ctx, func(ctx context.Context) error {
		return r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
			var cmds []*packp.Command
			var objs []plumbing.Hash
			seen := map[plumbing.Hash]bool{}
			for name, c := range local {
				old := refs[name]
				if old == c.Hash {
					continue
				}
				if !old.IsZero() {
					return nil, nil, fmt.Errorf("tag %s is at %s on the remote, %s here: it is not moved", name.Short(), old, c.Hash)
				}
				cmds = append(cmds, &packp.Command{Name: name, New: c.Hash})
				w, err := r.paint(c, refs[r.branch])
				if err != nil {
					return nil, nil, err
				}
				more, err := r.collect(w)
				if err != nil {
					return nil, nil, err
				}
				for _, h := range more {
					if !seen[h] {
						seen[h] = true
						objs = append(objs, h)
					}
				}
			}
			return cmds, objs, nil
		})
	})
	return rm.fail(op, err)
}

// DeleteTags removes the tags names here and on the remote. Tags already
// gone, here or there, are skipped, so it may be called again after a
// failure.
func (r *Repo) DeleteTags(ctx context.Context, names ...string) error {
	rm := r.remote
	if rm == nil {
		return fmt.Errorf("delete tags: %w", errNoRemote)
	}
	for _, n := range names {
		if err := r.DeleteTag(n); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		return nil
	}
	op := fmt.Sprintf("delete tags %s on %s", strings.Join(names, ", "), rm.url)
	err := rm.retry(ctx, func(ctx context.Context) error {
		return r.send(ctx, func(refs map[plumbing.ReferenceName]plumbing.Hash) ([]*packp.Command, []plumbing.Hash, error) {
			var cmds []*packp.Command
			for _, n := range names {
				name := plumbing.NewTagReferenceName(n)
				if old, ok := refs[name]; ok {
					cmds = append(cmds, &packp.Command{Name: name, Old: old})
				}
			}
			return cmds, nil, nil
		})
	})
	return rm.fail(op, err)
}

// fetchRetrying fetches the branch's remote head, retrying transport
// failures as rm says.
func (r *Repo) fetchRetrying(ctx context.Context, rm *remote) (theirs plumbing.Hash, err error) {
	err = rm.retry(ctx, func(ctx context.Context) error {
		theirs, err = r.fetch(ctx)
		return err
	})
	return theirs, err
}
