package sync

import (
	"fmt"
	"sort"
	"strings"
)

// maxBodyLines bounds the per-file lines of a message; a first snapshot of
// a large cluster would otherwise write one line per object.
const maxBodyLines = 500

// Message renders the commit message for changes (sorted by path): a
// subject naming what changed, a count per namespace, one "A/M/D path
// (manager)" line per file, and the trailers.
func Message(changes []Change, tr Trailers) string {
	var b strings.Builder
	b.WriteString(subject(changes))
	b.WriteString("\n\n")

	type counts struct{ added, modified, deleted int }
	perNS := map[string]*counts{}
	for _, c := range changes {
		if c.ID.Name == "" {
			continue
		}
		ns := scopeName(c.ID.Namespace)
		if perNS[ns] == nil {
			perNS[ns] = &counts{}
		}
		switch c.Op {
		case Added:
			perNS[ns].added++
		case Modified:
			perNS[ns].modified++
		case Deleted:
			perNS[ns].deleted++
		}
	}
	names := make([]string, 0, len(perNS))
	for ns := range perNS {
		names = append(names, ns)
	}
	sort.Strings(names)
	for _, ns := range names {
		c := perNS[ns]
		var parts []string
		for _, p := range []struct {
			n    int
			verb string
		}{{c.added, "added"}, {c.modified, "modified"}, {c.deleted, "deleted"}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", p.n, p.verb))
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", ns, strings.Join(parts, ", "))
	}
	if len(names) > 0 {
		b.WriteString("\n")
	}
	for i, c := range changes {
		if i == maxBodyLines {
			fmt.Fprintf(&b, "… and %d more\n", len(changes)-i)
			break
		}
		fmt.Fprintf(&b, "%c %s", c.Op, c.Path)
		if c.Manager != "" {
			fmt.Fprintf(&b, " (%s)", c.Manager)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(tr.String())
	return b.String()
}

func scopeName(ns string) string {
	if ns == "" {
		return "cluster"
	}
	return ns
}

// subject is e.g. "Update 3 objects in shop: deployments.apps/web
// (kubectl-client-side-apply), configmaps/a, services/web" — objects are
// listed when there are at most three.
func subject(changes []Change) string {
	n := 0
	var first []Change // named in the subject when there are no more
	ops := map[Op]bool{}
	nss := map[string]bool{}
	for _, c := range changes {
		if c.ID.Name == "" {
			continue
		}
		if n++; n <= 3 {
			first = append(first, c)
		}
		ops[c.Op] = true
		if !nss[c.ID.Namespace] {
			nss[c.ID.Namespace] = true
		}
	}
	if n == 0 {
		return "Update coverage"
	}
	verb := "Update"
	if len(ops) == 1 {
		switch {
		case ops[Added]:
			verb = "Add"
		case ops[Deleted]:
			verb = "Delete"
		}
	}
	noun := "objects"
	if n == 1 {
		noun = "object"
	}
	s := fmt.Sprintf("%s %d %s", verb, n, noun)
	cluster := nss[""]
	delete(nss, "")
	var where []string
	switch len(nss) {
	case 0:
	case 1:
		for ns := range nss {
			where = append(where, ns)
		}
	default:
		where = append(where, fmt.Sprintf("%d namespaces", len(nss)))
	}
	if cluster {
		where = append(where, "the cluster scope")
	}
	s += " in " + strings.Join(where, " and ")
	if n <= 3 {
		var names []string
		for _, c := range first {
			n := c.ID.ResourceDir() + "/" + c.ID.Name
			if c.Manager != "" {
				n += " (" + c.Manager + ")"
			}
			names = append(names, n)
		}
		s += ": " + strings.Join(names, ", ")
	}
	return s
}

// JoinFirst joins the first n items and says how many more there are:
// "a, b, c and 4 more".
func JoinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
