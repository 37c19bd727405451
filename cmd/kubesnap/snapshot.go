package main

import (
	"errors"
	"io"
	"os"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
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
	textOrJSON().outputFlag(cmd, &o.output)
	rf.add(fs)
	ff.add(fs)
	o.secretFlags.add(fs, true)
	o.cluster = clusterFlags(fs)
	return cmd
}
