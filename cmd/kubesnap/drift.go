package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubesnap/kubesnap/diff"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// snapshot --branch B --base REV commits the live state on top of REV
// into B (gitstore's Options.Base), so that a pull request from B into
// REV's branch shows exactly the drift. Its commits carry the drift as a
// Markdown table, the one kubesnap diff -o markdown writes, without the
// diffs: the pull request shows those.

// objectsDiffer is "no objects differ", "1 object differs", "3 objects
// differ".
func objectsDiffer(n int) string {
	switch n {
	case 0:
		return "no objects differ"
	case 1:
		return "1 object differs"
	}
	return fmt.Sprintf("%d objects differ", n)
}

// driftMessage renders a drift commit's message: a subject naming the
// base and how many objects differ from it, the drift as a Markdown table,
// then the trailers.
func driftMessage(base *gitstore.Revision) func([]snapsync.Change, snapsync.Trailers) string {
	return func(changes []snapsync.Change, tr snapsync.Trailers) string {
		rep := driftReport(base, changes, tr)
		var b strings.Builder
		fmt.Fprintf(&b, "Drift from %s: %s\n\n", revLabel(base), objectsDiffer(len(rep.Entries)))
		_ = rep.WriteMarkdown(&b) // a strings.Builder does not fail
		b.WriteString("\n")
		b.WriteString(tr.String())
		return b.String()
	}
}

// driftReport turns the changes from the base into diff's report, without
// diffs: new live for Added, changed for Modified, missing live for
// Deleted. Files that hold no object (the coverage report) are left out.
func driftReport(base *gitstore.Revision, changes []snapsync.Change, tr snapsync.Trailers) diff.Report {
	to := "live"
	if tr.Cluster != "" {
		to = "live (" + tr.Cluster + ")"
	}
	rep := diff.Report{From: revLabel(base), To: to, Compared: tr.Objects, Entries: []diff.Entry{}}
	for _, c := range changes {
		if c.ID.Name == "" {
			continue
		}
		e := diff.Entry{Group: c.ID.Group, Resource: c.ID.Resource, Namespace: c.ID.Namespace, Name: c.ID.Name, Path: c.Path}
		switch c.Op {
		case snapsync.Added:
			e.Status = diff.NewLive
		case snapsync.Modified:
			e.Status = diff.Changed
		case snapsync.Deleted:
			e.Status = diff.MissingLive
			rep.Compared++ // in scope on the base's side only
		}
		rep.Entries = append(rep.Entries, e)
	}
	return rep
}

// driftCounts counts the objects (not other files) in changes by status.
func driftCounts(changes []snapsync.Change) (newLive, changed, missingLive int) {
	for _, c := range changes {
		if c.ID.Name == "" {
			continue
		}
		switch c.Op {
		case snapsync.Added:
			newLive++
		case snapsync.Modified:
			changed++
		case snapsync.Deleted:
			missingLive++
		}
	}
	return newLive, changed, missingLive
}

// writeDriftResult prints what a snapshot on a base did, in one line.
func writeDriftResult(out io.Writer, branch string, base *gitstore.Revision, res snapsync.Result) {
	n, c, m := driftCounts(res.Changes)
	total := n + c + m
	tail := fmt.Sprintf("(%d objects, resourceVersion %s)", res.Objects, res.ResourceVersion)
	switch {
	case res.Commit != "":
		fmt.Fprintf(out, "%s %s: %s from %s: %d new live, %d changed, %d missing live %s\n",
			res.Commit, branch, objectsDiffer(total), revLabel(base), n, c, m, tail)
	case total == 0:
		fmt.Fprintf(out, "no drift from %s %s\n", revLabel(base), tail)
	default:
		fmt.Fprintf(out, "%s is up to date: %s from %s %s\n", branch, objectsDiffer(total), revLabel(base), tail)
	}
}
