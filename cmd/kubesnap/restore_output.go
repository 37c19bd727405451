package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubesnap/kubesnap/restore"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// confirm asks before a restore that updates or deletes live objects, as
// terraform apply does: on a terminal it shows the plan and asks; without
// one it refuses unless --yes. A restore that only creates goes on. shown
// says the plan was printed on stdout.
func confirm(o restoreOptions, res restoreResult, stdout, stderr io.Writer) (shown bool, err error) {
	c := res.Plan.Counts()
	if c[restore.Update]+c[restore.Prune] == 0 || o.yes {
		return false, nil
	}
	if !o.interactive {
		return false, usageError{fmt.Errorf("this restore would update %d and delete %d live objects, and there is no terminal to ask on: see the plan with --dry-run, then give --yes to apply it", c[restore.Update], c[restore.Prune])}
	}
	w := stdout
	if o.output == "json" {
		w = stderr // stdout is for the JSON result
	}
	writePlan(w, res)
	fmt.Fprintf(stderr, "Apply %d creates, %d updates, %d deletions to %s? [y/N] ", c[restore.Create], c[restore.Update], c[restore.Prune], contextName(o.cluster))
	line, _ := bufio.NewReader(o.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return w == stdout, nil
	}
	return w == stdout, exitError{code: 1, err: errors.New("restore cancelled: nothing was changed")}
}

// contextName names the target cluster in the question: the kubeconfig
// context, else the server.
func contextName(f *genericclioptions.ConfigFlags) string {
	if f == nil {
		return "the cluster"
	}
	if f.Context != nil && *f.Context != "" {
		return *f.Context
	}
	if raw, err := f.ToRawKubeConfigLoader().RawConfig(); err == nil && raw.CurrentContext != "" {
		return raw.CurrentContext
	}
	if cfg, err := f.ToRESTConfig(); err == nil && cfg.Host != "" {
		return cfg.Host
	}
	return "the cluster"
}

// writePlan prints every item but the unchanged ones, phase by phase,
// then the counts.
func writePlan(w io.Writer, res restoreResult) {
	plan := res.Plan
	fmt.Fprintf(w, "restore of %s to a cluster running %s\n", res.Revision, plan.ServerVersion)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	phase := restore.Phase(0)
	for _, it := range plan.Items {
		if it.Action == restore.Unchanged {
			continue
		}
		if it.Phase != phase {
			phase = it.Phase
			fmt.Fprintf(tw, "%d. %s\n", phase, phase)
		}
		reason := ""
		if it.Reason != "" {
			reason = "\t(" + it.Reason + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", it.Action, it.ID(), reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "plan: %s", counts(plan.Counts()))
	if plan.Unpruned > 0 {
		fmt.Fprintf(w, "; %d live objects are not in the revision (--prune deletes them)", plan.Unpruned)
	}
	fmt.Fprintln(w)
	if plan.Unpruned > 0 || plan.Counts()[restore.Prune] > 0 {
		fmt.Fprintf(w, "prune scope: %s\n", plan.PruneScope)
	}
}

// writeRestoreReport prints what the restore did.
func writeRestoreReport(w io.Writer, res restoreResult) {
	rep := res.Report
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "failed: %s %s: %s\n", f.Action, f.ID(), f.Error)
	}
	fmt.Fprintf(w, "restored: %s; %d failed", counts(rep.Done), len(rep.Failures))
	if res.Tag != "" {
		fmt.Fprintf(w, "; recorded as tag %s", res.Tag)
	}
	fmt.Fprintln(w)
}

// counts is "3 create, 1 update, 40 unchanged" in a fixed order.
func counts(c map[restore.Action]int) string {
	order := []restore.Action{restore.Create, restore.Update, restore.Unchanged, restore.Differs, restore.Prune, restore.Keep, restore.Skip}
	var parts []string
	for _, a := range order {
		if c[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[a], a))
		}
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

// progressBar draws "[=====     ] 120/300" on one line.
func progressBar(w io.Writer, done, total int) {
	const width = 30
	n := 0
	if total > 0 {
		n = done * width / total
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d objects", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
}
