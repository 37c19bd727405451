package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type restoreOptions struct {
	repo, prefix, rev, at, output  string
	dryRun, force, prune, recreate bool
	pruneCRDs, yes                 bool
	// interactive says stdin and stderr are a terminal: a restore that
	// updates or deletes asks there before it does.
	interactive  bool
	stdin        io.Reader
	namespaceMap map[string]string
	kustomize    string // folder of a kustomization run over the revision; "" for none
	workers      int
	qps          float32
	burst        int
	filter       canonical.Filter
	cluster      *genericclioptions.ConfigFlags
	progress     io.Writer // nil: no progress bar
	identity     string    // --age-identity
}

// restoreTagPrefix names the tags that record restores.
const restoreTagPrefix = "restore/"

func newRestore(stdout, stderr io.Writer) *cobra.Command {
	var o restoreOptions
	var ff filterFlags
	var nsMap []string
	cmd := &cobra.Command{
		Use:   "restore --repo DIR (--rev REV | --at TIME)",
		Short: "Apply a revision to the cluster: restore it, or clone it into another",
		Long: `restore reads the objects stored at --rev (a commit, tag, branch or HEAD~N)
or at --at (the last commit at or before a time), and plans before it
touches anything: per object create, update, unchanged, differs, prune or
skip (why), in phases (CRDs, namespaces, cluster policy, namespace setup,
volumes, services, workloads, the rest, admission webhooks last).

By default it creates what is missing and leaves live objects that differ
as they are, listing them: --force updates them. --prune deletes live
objects in scope that the revision does not hold (never in kube-system,
kube-public, kube-node-lease or default). --dry-run prints the plan and
validates every create and update with a server-side dry-run.

--prune deletes only inside the scope the snapshot recorded (its
namespaces, types and selector, in .kubesnap/coverage.txt) and this
restore's filters, and never: objects the revision holds in any form
(redacted or encrypted Secrets included), what the control plane
bootstraps or reconciles (autoupdate RBAC and flow-control objects,
default/kubernetes, kube-root-ca.crt, default ServiceAccounts, the
ServiceCIDR), kubesnap's own objects, and CRDs unless --prune-crds. Each
such object is listed with the reason.

A restore that updates (--force) or deletes (--prune, --recreate) shows
its plan and asks before it changes anything; --yes does not ask, and
without a terminal it is required. --dry-run never asks.

Objects are applied with server-side apply under the field manager
kubesnap. While it applies, restore holds the Lease
kube-system/kubesnap-restore, so that watchers do not commit the
half-restored cluster. Each restore is recorded as a tag
restore/<UTC time> on the restored commit.

--context or --kubeconfig choose the target cluster; --namespace-map
OLD=NEW moves objects (and binding subjects) into another namespace.

--kustomize DIR runs the kustomization in DIR (kustomization.yaml and the
files it names) over the revision's objects, after the filters and before
--namespace-map, to change images, labels, replicas or anything a patch
can: kubesnap adds the objects to its resources in memory, and restores
what it builds. DIR is only read.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			if o.prune && o.kustomize != "" {
				// An overlay can rename or move objects (namePrefix,
				// namespace:): the originals would be pruned.
				return usageError{errors.New("--prune with --kustomize is refused: an overlay can rename or move objects, and the originals would be deleted; restore with the overlay, then prune without it")}
			}
			if o.workers < 1 || o.qps <= 0 || o.burst < 1 {
				return usageError{errors.New("--workers, --qps and --burst must be positive")}
			}
			if o.rev != "" && o.at != "" {
				return usageError{errors.New("--rev and --at both name the revision to restore: give one of them")}
			}
			if o.rev == "" && o.at == "" {
				return usageError{errors.New("give the revision to restore: --rev REV or --at TIME")}
			}
			if o.pruneCRDs && !o.prune {
				return usageError{errors.New("--prune-crds only widens --prune: give both")}
			}
			var err error
			if o.filter, err = ff.filter(); err != nil {
				return err
			}
			if o.namespaceMap, err = parseNamespaceMap(nsMap); err != nil {
				return err
			}
			if f, ok := stderr.(*os.File); ok && !o.dryRun && term.IsTerminal(int(f.Fd())) {
				o.progress = stderr
				o.stdin, o.interactive = os.Stdin, term.IsTerminal(int(os.Stdin.Fd()))
			}
			return runRestore(cmd.Context(), o, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.rev, "rev", "", "revision to restore: commit, tag, branch, HEAD~N")
	fs.StringVar(&o.at, "at", "", `restore the last commit at or before this time ("2026-11-20 03:00", UTC unless it has a zone; or RFC 3339)`)
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster's files are under (as given to snapshot --path)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and validate it with a server-side dry-run; change nothing")
	fs.BoolVar(&o.force, "force", false, "update live objects that differ from the revision")
	fs.BoolVar(&o.prune, "prune", false, "delete live objects in scope that the revision does not hold")
	fs.BoolVar(&o.recreate, "recreate", false, "delete and create again objects whose immutable fields differ")
	fs.BoolVar(&o.pruneCRDs, "prune-crds", false, "with --prune, delete CustomResourceDefinitions the revision does not hold too, and with each every object of its type")
	fs.BoolVarP(&o.yes, "yes", "y", false, "update and delete without asking (needed when there is no terminal to ask on)")
	fs.StringArrayVar(&nsMap, "namespace-map", nil, "move objects from namespace OLD to NEW (OLD=NEW, repeatable)")
	fs.StringVar(&o.kustomize, "kustomize", "", "run the kustomization in this folder over the revision's objects before planning")
	identityFlag(fs, &o.identity, "encrypted Secrets (without a key they are skipped)")
	fs.IntVar(&o.workers, "workers", 64, "objects applied at once within a phase (the API server's priority and fairness queues what it cannot take at once)")
	fs.Float32Var(&o.qps, "qps", 5000, "client-side limit of requests a second to the API server (by default so high that --workers is the limit)")
	fs.IntVar(&o.burst, "burst", 5000, "client-side burst of requests above --qps")
	textOrJSON().outputFlag(cmd, &o.output)
	ff.add(fs)
	o.cluster = clusterFlags(fs)
	return cmd
}

// parseNamespaceMap reads OLD=NEW pairs.
func parseNamespaceMap(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" || strings.ContainsAny(p, " /") {
			return nil, usageError{fmt.Errorf("bad --namespace-map %q: use OLD=NEW", p)}
		}
		if _, dup := out[from]; dup {
			return nil, usageError{fmt.Errorf("--namespace-map maps %s twice", from)}
		}
		out[from] = to
	}
	return out, nil
}

// parseTime reads --at: RFC 3339, or "2006-01-02 15:04[:05]" in UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf(`bad --at %q: use "2026-11-20 03:00" (UTC) or RFC 3339`, s)}
}
