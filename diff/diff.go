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
