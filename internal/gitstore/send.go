package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

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
