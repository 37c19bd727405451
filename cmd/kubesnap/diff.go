package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
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
			if err := checkOutput(o.output, "text", "json", "markdown"); err != nil {
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
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text, json or markdown")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show Secret values where a revision's files hold them (git holds none by default: they are redacted)")
	fs.BoolVar(&o.noColor, "no-color", false, "no colour, even on a terminal (NO_COLOR is honoured too)")
	ff.add(fs)
	o.secretFlags.add(fs, false)
	identityFlag(fs, &o.identity, "encrypted Secrets that differ, so the diff names the keys whose values changed")
	o.cluster = clusterFlags(fs)
	return cmd
}

// runDiff compares what o asks for and builds the report.
func runDiff(ctx context.Context, o diffOptions) (diff.Report, error) {
	repo, err := gitstore.Open(o.repo, gitstore.Options{Prefix: o.prefix, ReadOnly: true})
	if err != nil {
		return diff.Report{}, err
	}
	from, err := repo.At(o.rev)
	if err != nil {
		return diff.Report{}, err
	}
	// A revision of no snapshot would show every live object as new.
	if err := from.CheckSnapshot(); err != nil {
		return diff.Report{}, err
	}
	dopts := diff.Options{From: revLabel(from), ShowSecrets: o.showSecrets}
	if o.to != "" {
		to, err := repo.At(o.to)
		if err != nil {
			return diff.Report{}, err
		}
		if err := to.CheckSnapshot(); err != nil {
			return diff.Report{}, err
		}
		dopts.To = revLabel(to)
		unseal, err := unsealer(o.identity)
		if err != nil {
			return diff.Report{}, err
		}
		if unseal != nil && !o.showSecrets {
			unseal = secretsOnly(unseal)
		}
		compared, objs, err := snapsync.CompareRevisions(ctx, from, to, o.filter, unseal)
		if err != nil {
			return diff.Report{}, err
		}
		return diff.Build(pairs(objs), compared, dopts), nil
	}
	cluster, err := kube.Connect(o.cluster)
	if err != nil {
		return diff.Report{}, err
	}
	if err := cluster.Check(ctx); err != nil {
		return diff.Report{}, err
	}
	dopts.To, dopts.Live = "live ("+cluster.Name()+")", true
	if err := o.secretFlags.resolve(ctx, &o.secrets, cluster); err != nil {
		return diff.Report{}, err
	}
	if err := o.secretFlags.key(ctx, &o.secrets, cluster, false, func(msg string) {
		if o.warn != nil {
			fmt.Fprintln(o.warn, "warning: "+msg)
		}
	}); err != nil {
		var usage usageError
		if errors.As(err, &usage) || errors.Is(err, kube.ErrDigestKeyForbidden) {
			return diff.Report{}, err
		}
		// Files written without a digest compare the same; with one, a
		// changed value goes unseen.
		if o.warn != nil {
			fmt.Fprintf(o.warn, "warning: %v; Secrets are compared without the digest of their values\n", err)
		}
	}
	opts := snapsync.DriftOptions{Filter: o.filter, DryRun: cluster, Secrets: o.secrets, Rules: rulesOf(ctx)}
	if opts.Unseal, err = unsealer(o.identity); err != nil {
		return diff.Report{}, err
	}
	if o.progress != nil {
		opts.Progress = func(p snapsync.Progress) {
			fmt.Fprintf(o.progress, "\rreading %d/%d types, %d objects", p.TypesDone, p.Types, p.Objects)
		}
	}
	res, err := snapsync.Drift(ctx, cluster, from, opts)
	if o.progress != nil {
		fmt.Fprintln(o.progress)
	}
	if err != nil {
		return diff.Report{}, err
	}
	return diff.Build(pairs(res.Objects), res.Compared, dopts), nil
}

// secretsOnly decrypts core Secrets only, whose values the report redacts
// key by key; other sensitive objects stay in their redacted form, as the
// report would show their values.
func secretsOnly(unseal snapsync.Unseal) snapsync.Unseal {
	var enc canonical.Encoder // one for the whole diff
	return func(data []byte) ([]byte, error) {
		red, _, _ := canonical.Sealed(data)
		if red != nil && (red.GroupVersionKind().Group != "" || red.GetKind() != "Secret") {
			return enc.Marshal(red)
		}
		return unseal(data)
	}
}

// revLabel names a revision as people read it: "main (1a2b3c4)".
func revLabel(v *gitstore.Revision) string {
	return fmt.Sprintf("%s (%.7s)", v.Name, v.Commit())
}

func pairs(objs []snapsync.Drifted) []diff.Pair {
	out := make([]diff.Pair, len(objs))
	for i, d := range objs {
		out[i] = diff.Pair{ID: d.ID, Path: d.Path, From: d.From, To: d.To, Note: d.Note}
	}
	return out
}

func writeReport(w io.Writer, rep diff.Report, o diffOptions) error {
	switch o.output {
	case "json":
		return rep.WriteJSON(w)
	case "markdown":
		return rep.WriteMarkdown(w)
	}
	return rep.WriteText(w, o.color)
}
