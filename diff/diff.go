// Package diff compares two sets of canonical objects (a revision and the
// live cluster, or two revisions) and renders the result as a unified diff
// (text), a machine-readable report (JSON) or a pull-request comment
// (Markdown).
//
// Everything here is a pure function over canonical YAML bytes: no I/O
// beyond the io.Writer a report is rendered to, no clocks, no globals.
// Secret values never appear in a report unless Options.ShowSecrets: the
// diff of a Secret shows which keys were added, removed or changed.
//
// # Flow
//
//	r := diff.Build(pairs, compared, opts)   one Entry per pair whose bytes differ
//	r.WriteText(w, color) | r.WriteJSON(w) | r.WriteMarkdown(w)
//
// # Unified diffs
//
// The line diff comes from sergi/go-diff (diffmatchpatch in line mode, with
// no deadline so the result never depends on the machine's speed); the hunks
// are built here as GNU diff -u builds them: Context lines around each run
// of changes, runs at most 2*Context unchanged lines apart sharing one hunk,
// deletions before insertions, "\ No newline at end of file" after a last line that
// lacks one, and /dev/null naming a side the object is not on.
//
// # Secrets
//
// Before a Secret is diffed, both sides are parsed and every value under
// data and stringData (and kubectl's last-applied annotation, which repeats
// them) is replaced by a placeholder: SameValue when the key's value is the
// same on both sides, else OldValue on the From side and NewValue on the To
// side. Values are compared as the API server stores them (data decoded,
// stringData winning), so moving a value between the two is no change. A
// side that cannot be parsed is never shown, since nothing tells its values
// from the rest; nor is the parser's error, which may quote the document.
package diff

import (
	"github.com/kubesnap/kubesnap/canonical"
)

// Status says how one object differs between the two sides.
type Status string

// Statuses. MissingLive and NewLive are used when the To side is the live
// cluster (Options.Live); Removed and Added when it is another revision.
const (
	Changed     Status = "changed"
	MissingLive Status = "missing live" // in the revision, not in the cluster
	NewLive     Status = "new live"     // in the cluster, not in the revision
	Removed     Status = "removed"      // in From, not in To
	Added       Status = "added"        // in To, not in From
)

// Pair is one object on the two sides, as canonical YAML. From is nil when
// the object is only in To, To is nil when it is only in From.
type Pair struct {
	ID   canonical.ID
	Path string // relative to the repository's prefix
	From []byte
	To   []byte
	// Note says something about how the object was compared, e.g. that
	// a server-side dry-run was refused and the stored bytes were
	// compared as they are.
	Note string
}

// Options shape a report.
type Options struct {
	// From and To name the two sides in headers: "HEAD (1a2b3c4)",
	// "live (kind-prod)".
	From, To string
	// Live says the To side is the live cluster.
	Live bool
	// ShowSecrets puts Secret values into the diff.
	ShowSecrets bool
	// Context is the number of unchanged lines around each change in a
	// unified diff; 0 means 3, and a negative number means none.
	Context int
}

// SecretKeys are the keys of a Secret's data that differ.
type SecretKeys struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// Entry is one object that differs.
type Entry struct {
	Group     string `json:"group,omitempty"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Status    Status `json:"status"`
	// Diff is the unified diff of the canonical YAML, From to To, with
	// "--- " and "+++ " headers, Secret values redacted unless asked. For
	// a Secret that cannot be shown (a side does not parse) it is one line
	// starting with "# " that says why. An empty Diff makes a summary-only
	// entry, which renderers list without a diff.
	Diff       string      `json:"diff"`
	SecretKeys *SecretKeys `json:"secretKeys,omitempty"`
	Note       string      `json:"note,omitempty"`
}

// ID is the object the entry is about.
func (e Entry) ID() canonical.ID {
	return canonical.ID{Group: e.Group, Resource: e.Resource, Namespace: e.Namespace, Name: e.Name}
}

// Report is the drift between two sides.
type Report struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Compared is how many objects were in scope on either side.
	Compared int `json:"compared"`
	// Entries are the objects that differ, sorted by path.
	Entries []Entry `json:"objects"`
	// Notes are about the comparison as a whole (e.g. types that could
	// not be compared).
	Notes []string `json:"notes,omitempty"`
}

// Drift reports whether any object differs.
func (r Report) Drift() bool { return len(r.Entries) > 0 }
