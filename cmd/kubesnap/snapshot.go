package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type snapshotOptions struct {
	repo, branch, prefix, tag, output string
	base                              string // --base: commit the drift from this revision
	bare                              bool
	remote                            gitstore.Remote // URL "" for none
	filter                            canonical.Filter
	secrets                           snapsync.Secrets
	secretFlags                       secretFlags
	warn                              io.Writer
	cluster                           *genericclioptions.ConfigFlags
	progress                          io.Writer // nil: no progress line
}

func newSnapshot(stdout, stderr io.Writer) *cobra.Command {
	var o snapshotOptions
	var ff filterFlags
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "snapshot --repo DIR [--branch B [--base REV]] [--remote URL]",
		Short: "Commit the cluster's current state to a git repository",
		Long: `snapshot reads every listable, watchable, creatable type at one
resourceVersion, writes each object as canonical YAML and commits what
changed. It prints the commit id, or says there were no changes. The
repository is created when DIR is missing or empty.

With --base REV (a commit, branch, tag or HEAD~N) it commits the drift
instead: the live state on top of REV, into --branch, which must not be the
checked-out branch (the worktree is not touched). A pull request from that
branch into REV's shows exactly the drift; the commit message holds it as
a Markdown table. The branch only moves forward: a later run adds a commit
when the drift changed, merging REV in when REV moved on, and makes none
when nothing differs from REV and the branch does not exist yet.

With --remote it pulls the branch first and pushes it after, never
forcing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			if o.base != "" && o.branch == "" {
				return usageError{errors.New("--base needs --branch, the branch the drift is committed to (drift/<cluster>)")}
			}
			var err error
			if o.filter, err = ff.filter(); err != nil {
				return err
			}
			if o.remote, err = rf.complete(); err != nil {
				return err
			}
			if o.secrets, err = o.secretFlags.complete(); err != nil {
				return err
			}
			o.secretFlags.warn(stderr, o.secrets)
			o.warn = stderr
			if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				o.progress = stderr
			}
			return runSnapshot(cmd.Context(), o, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder (created if missing or empty)")
	fs.StringVar(&o.branch, "branch", "", "branch to commit to (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository to write under, so one repository can hold many clusters")
	fs.StringVar(&o.base, "base", "", "commit the drift from this revision (commit, branch, tag, HEAD~N) into --branch, for a pull request")
	fs.StringVar(&o.tag, "tag", "", "tag the resulting commit")
	fs.BoolVar(&o.bare, "bare", false, "when the repository is created, make it bare (no checked-out files): for backup hosts and CI")
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	rf.add(fs)
	ff.add(fs)
	o.secretFlags.add(fs, true)
	o.cluster = clusterFlags(fs)
	return cmd
}

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

// connect opens the repository, refusing one that is not kubesnap's (see
// gitstore.CheckOwned) or has uncommitted edits in kubesnap's folders,
// builds the cluster client and checks that the server answers and takes
// the credentials.
func connect(ctx context.Context, dir string, opts gitstore.Options, flags *genericclioptions.ConfigFlags) (*gitstore.Repo, *kube.Cluster, error) {
	repo, err := gitstore.Open(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := repo.CheckOwned(ctx); err != nil {
		return nil, nil, err
	}
	edits, err := repo.LocalEdits()
	if err != nil {
		return nil, nil, err
	}
	if len(edits) > 0 {
		return nil, nil, fmt.Errorf("repository %s has uncommitted changes kubesnap will not overwrite: %s (commit or discard them first)", dir, snapsync.JoinFirst(edits, 5))
	}
	cluster, err := kube.Connect(flags)
	if err != nil {
		return nil, nil, err
	}
	if err := cluster.Check(ctx); err != nil {
		return nil, nil, err
	}
	return repo, cluster, nil
}
