package main

import (
	"errors"
	"io"
	"os"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type diffOptions struct {
	repo, prefix, rev, to, output string
	showSecrets, noColor          bool
	filter                        canonical.Filter
	cluster                       *genericclioptions.ConfigFlags
	color                         bool
	progress                      io.Writer // nil: no progress line
	warn                          io.Writer
	secretFlags                   secretFlags
	secrets                       snapsync.Secrets
	identity                      string
}

func newDiff(stdout, stderr io.Writer) *cobra.Command {
	var o diffOptions
	var ff filterFlags
	outputs := formats{"text", "json", "markdown"}
	cmd := &cobra.Command{
		Use:   "diff --repo DIR [--rev REV] [--to REV2]",
		Short: "Show the drift between a revision and the live cluster, or between two revisions",
		Long: `diff compares the objects stored at --rev (a commit, tag, branch or HEAD~N;
default: the checked-out branch) with the live cluster, both in canonical
form. Objects only in git are "missing live", only in the cluster "new
live", different ones "changed". Files edited by hand are compared as the
server would store them (a server-side dry-run apply); when the server
refuses the dry-run, the file is compared as it is, and the object says so.

With --to, it compares two revisions instead (no cluster needed): objects
are "changed", "added" or "removed".

Secret values never appear in the output unless --show-secrets: the diff
shows which keys were added, removed or changed. Redacted and encrypted
Secrets are compared through the keyed digest of their values (the key is
read from the cluster, see --digest-key-secret), so a changed value shows
as a changed kubesnap.io/digest annotation; no private key is needed.
With --age-identity (or SOPS_AGE_KEY_FILE) encrypted Secrets that differ
are decrypted, so the diff names the keys whose values changed.

Exit status: 0 in sync, 1 drift, 2 error (as kubectl diff).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.repo == "" {
				return usageError{errors.New("--repo is required")}
			}
			if err := outputs.check(o.output); err != nil {
				return err
			}
			var err error
			if o.filter, err = ff.filter(); err != nil {
				return err
			}
			if o.secrets, err = o.secretFlags.complete(); err != nil {
				return err
			}
			// A bad --age-identity is said first, whatever else is wrong.
			if _, err := unsealer(o.identity); err != nil {
				return exitError{code: 2, err: err}
			}
			o.warn = stderr
			if f, ok := stdout.(*os.File); ok && o.output == "text" && !o.noColor && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd())) {
				o.color = true
			}
			if f, ok := stderr.(*os.File); ok && o.to == "" && term.IsTerminal(int(f.Fd())) {
				o.progress = stderr
			}
			rep, err := runDiff(cmd.Context(), o)
			if err != nil {
				return exitError{code: 2, err: err}
			}
			if err := writeReport(stdout, rep, o); err != nil {
				return exitError{code: 2, err: err}
			}
			if rep.Drift() {
				return exitError{code: 1}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.rev, "rev", "", "revision to compare: commit, tag, branch, HEAD~N (default: the checked-out branch)")
	fs.StringVar(&o.to, "to", "", "compare --rev with this revision instead of the live cluster")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster's files are under (as given to snapshot --path)")
	outputs.outputFlag(cmd, &o.output)
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show Secret values where a revision's files hold them (git holds none by default: they are redacted)")
	fs.BoolVar(&o.noColor, "no-color", false, "no colour, even on a terminal (NO_COLOR is honoured too)")
	ff.add(fs)
	o.secretFlags.add(fs, false)
	identityFlag(fs, &o.identity, "encrypted Secrets that differ, so the diff names the keys whose values changed")
	o.cluster = clusterFlags(fs)
	return cmd
}
