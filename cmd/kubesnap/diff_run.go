package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

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
