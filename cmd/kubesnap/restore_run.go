package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	"github.com/kubesnap/kubesnap/restore"
)

// restoreResult is what -o json prints.
type restoreResult struct {
	Revision string          `json:"revision"`
	Commit   string          `json:"commit"`
	DryRun   bool            `json:"dryRun"`
	Plan     *restore.Plan   `json:"plan"`
	Report   *restore.Report `json:"report,omitempty"`
	Tag      string          `json:"tag,omitempty"`
	// planShown says the plan was printed before asking.
	planShown bool
}

func runRestore(ctx context.Context, o restoreOptions, stdout, stderr io.Writer) error {
	repo, err := gitstore.Open(o.repo, gitstore.Options{Prefix: o.prefix, ReadOnly: true})
	if err != nil {
		return err
	}
	var rev *gitstore.Revision
	if o.at != "" {
		t, err := parseTime(o.at)
		if err != nil {
			return err
		}
		if rev, err = repo.Before(t); err != nil {
			return err
		}
	} else if rev, err = repo.At(o.rev); err != nil {
		return err
	}
	if err := rev.CheckSnapshot(); err != nil {
		return err
	}
	unseal, err := unsealer(o.identity)
	if err != nil {
		return err
	}
	objs, err := restore.Load(ctx, rev, o.filter, restore.Unseal(unseal))
	if err != nil {
		return err
	}
	scope, err := restore.ReadScope(ctx, rev)
	if err != nil {
		return err
	}
	cluster, err := kube.ConnectRate(o.cluster, o.qps, o.burst)
	if err != nil {
		return err
	}
	if err := cluster.Check(ctx); err != nil {
		return err
	}
	target := cluster.Target()
	target.Log = slog.New(slog.NewTextHandler(stderr, nil))
	target.Rules = rulesOf(ctx)
	if o.kustomize != "" {
		if objs, err = restore.Kustomize(ctx, os.DirFS(o.kustomize), objs, target); err != nil {
			return fmt.Errorf("--kustomize %s: %w", o.kustomize, err)
		}
	}
	plan, err := restore.MakePlan(ctx, target, objs, restore.Options{
		Filter: o.filter, Force: o.force, Prune: o.prune, NamespaceMap: o.namespaceMap,
		Scope: scope, PruneCRDs: o.pruneCRDs,
		RevisionServerVersion: trailer(rev.Message(), "Kubesnap-Server-Version"),
		Validate:              o.dryRun,
		Rules:                 target.Rules,
	})
	if err != nil {
		return err
	}
	res := restoreResult{Revision: revLabel(rev), Commit: rev.Commit(), DryRun: o.dryRun, Plan: plan}
	for _, w := range plan.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if o.dryRun {
		if o.output == "json" {
			return writeJSON(stdout, res)
		}
		writePlan(stdout, res)
		return planVerdict(plan)
	}
	if res.planShown, err = confirm(o, res, stdout, stderr); err != nil {
		return err
	}

	release, err := target.Hold(ctx, holder(), rev.Commit())
	if err != nil {
		return err
	}
	aopts := restore.ApplyOptions{Workers: o.workers, Recreate: o.recreate}
	if o.progress != nil {
		aopts.Progress = func(done, total int) { progressBar(o.progress, done, total) }
	}
	rep := restore.Apply(ctx, target, plan, aopts)
	release()
	if o.progress != nil {
		fmt.Fprintln(o.progress)
	}
	res.Report = &rep
	if ctx.Err() == nil {
		res.Tag, err = recordRestore(rev, time.Now())
		if err != nil {
			fmt.Fprintln(stderr, "warning: the restore is not recorded:", err)
		}
	}
	if o.output == "json" {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		if !res.planShown {
			writePlan(stdout, res)
		}
		writeRestoreReport(stdout, res)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("restore interrupted: %w (the plan's first phases may be applied; run it again)", err)
	}
	if len(rep.Failures) > 0 {
		return exitError{code: 1, err: fmt.Errorf("%d objects failed (listed above)", len(rep.Failures))}
	}
	return planVerdict(plan)
}

// recordRestore tags the restored commit restore/<UTC time>; restores in
// the same second (into two clusters at once) get -2, -3, ….
func recordRestore(rev *gitstore.Revision, now time.Time) (string, error) {
	base := restoreTagPrefix + now.UTC().Format("20060102T150405Z")
	var err error
	for i := 1; i <= 20; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if err = rev.Tag(name); err == nil {
			return name, nil
		}
	}
	return "", err
}

// planVerdict fails when live objects differ and were left as they are.
func planVerdict(plan *restore.Plan) error {
	if n := plan.Counts()[restore.Differs]; n > 0 {
		return exitError{code: 1, err: fmt.Errorf("%d live objects differ from the revision and were left as they are (listed above): --force updates them", n)}
	}
	return nil
}

// holder names this restore in the restore lease.
func holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("kubesnap-restore@%s/%d", host, os.Getpid())
}

// trailer reads a trailer's value from a commit message.
func trailer(msg, key string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
