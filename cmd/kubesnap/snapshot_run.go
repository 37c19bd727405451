package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// snapshotReport is what -o json prints.
type snapshotReport struct {
	Commit  string `json:"commit,omitempty"`
	Changed bool   `json:"changed"`
	Branch  string `json:"branch"`
	// Base and BaseCommit are --base and the commit it names; Added,
	// Modified and Deleted then count the drift from it.
	Base            string   `json:"base,omitempty"`
	BaseCommit      string   `json:"baseCommit,omitempty"`
	Added           int      `json:"added"`
	Modified        int      `json:"modified"`
	Deleted         int      `json:"deleted"`
	Objects         int      `json:"objects"`
	ResourceVersion string   `json:"resourceVersion"`
	FreshTypes      []string `json:"freshTypes,omitempty"`
	SkippedTypes    []string `json:"forbiddenOrFailedTypes,omitempty"`
}

func runSnapshot(ctx context.Context, o snapshotOptions, out io.Writer) error {
	repo, cluster, err := connect(ctx, o.repo, gitstore.Options{Branch: o.branch, Prefix: o.prefix, Bare: o.bare, Base: o.base}, o.cluster)
	if err != nil {
		return err
	}
	if o.remote.URL != "" {
		if err := repo.SetRemote(o.remote); err != nil {
			return err
		}
		// The branch continues from the remote's head, so that the
		// push is a fast-forward.
		if _, _, err := repo.Pull(ctx); err != nil {
			return err
		}
		if err := repo.CheckOwned(ctx); err != nil {
			return err // the remote's branch is not kubesnap's
		}
	}
	if err := o.secretFlags.resolve(ctx, &o.secrets, cluster); err != nil {
		return err
	}
	if err := o.secretFlags.key(ctx, &o.secrets, cluster, true, func(msg string) { fmt.Fprintln(o.warn, "warning: "+msg) }); err != nil {
		return err
	}
	opts := snapsync.Options{Filter: o.filter, Cluster: cluster.Name(), Secrets: o.secrets, Rules: rulesOf(ctx)}
	base := repo.Base()
	if base != nil {
		opts.Message = driftMessage(base)
		opts.CommitUnchanged = true // the branch may have to catch up with the base
	}
	if o.progress != nil {
		opts.Progress = func(p snapsync.Progress) {
			if p.Committing > 0 {
				fmt.Fprintf(o.progress, "\rread %d types, %d objects; committing %d changed files", p.Types, p.Objects, p.Committing)
				return
			}
			fmt.Fprintf(o.progress, "\rreading %d/%d types, %d objects", p.TypesDone, p.Types, p.Objects)
		}
	}
	res, err := snapsync.Snapshot(ctx, cluster, repo, opts)
	if o.progress != nil {
		fmt.Fprintln(o.progress)
	}
	if err != nil {
		return err
	}
	if o.tag != "" {
		if err := repo.Tag(o.tag); err != nil {
			return err
		}
	}
	rep := snapshotReport{Commit: res.Commit, Changed: res.Commit != "", Branch: repo.Branch(), Objects: res.Objects, ResourceVersion: res.ResourceVersion, FreshTypes: res.FreshTypes}
	if base != nil {
		rep.Base, rep.BaseCommit = base.Name, base.Commit()
	}
	if o.remote.URL != "" {
		// Pushed even when this run made no commit: an earlier run's
		// push may have failed.
		rebased, _, err := repo.Push(ctx)
		if err != nil {
			return err
		}
		if rebased && res.Commit != "" {
			// Another writer pushed meanwhile: our commit was replayed
			// on top of theirs under a new id.
			head, err := repo.At("")
			if err != nil {
				return err
			}
			res.Commit, rep.Commit = head.Commit(), head.Commit()
		}
		if o.tag != "" {
			if err := repo.PushTags(ctx, o.tag); err != nil {
				return err
			}
		}
	}
	for _, c := range res.Changes {
		if c.ID.Name == "" {
			continue
		}
		switch c.Op {
		case snapsync.Added:
			rep.Added++
		case snapsync.Modified:
			rep.Modified++
		case snapsync.Deleted:
			rep.Deleted++
		}
	}
	for _, s := range res.Coverage.Skipped {
		if strings.HasPrefix(s.Reason, "forbidden") || strings.HasPrefix(s.Reason, "list failed") {
			rep.SkippedTypes = append(rep.SkippedTypes, s.Resource+": "+s.Reason)
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, s := range rep.SkippedTypes {
		fmt.Fprintf(out, "skipped %s\n", s)
	}
	if base != nil {
		writeDriftResult(out, rep.Branch, base, res)
		return nil
	}
	if res.Commit == "" {
		fmt.Fprintf(out, "no changes (%d objects, resourceVersion %s)\n", res.Objects, res.ResourceVersion)
		return nil
	}
	fmt.Fprintf(out, "%s %d added, %d modified, %d deleted (%d objects, resourceVersion %s)\n",
		res.Commit, rep.Added, rep.Modified, rep.Deleted, res.Objects, res.ResourceVersion)
	return nil
}
