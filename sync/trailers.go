package sync

import (
	"fmt"
	"strconv"
	"strings"
)

// Trailers are the volatile facts of a commit: they go in the message,
// never in files, so that files do not churn.
type Trailers struct {
	Cluster         string
	ServerVersion   string
	ResourceVersion string
	Objects         int
	// Changed is how many files the commit adds, modifies or deletes
	// against its first parent, not counting kubesnap's own files
	// (.kubesnap/): what kubesnap log prints without diffing trees. Nil
	// when that is not known, as for a drift commit, whose changes are
	// from its base rather than from its parent.
	Changed *int
	// Path is the folder of the repository the store writes under
	// (--path), "" for the top: kubesnap log --path lists a commit or
	// passes it by from its message alone.
	Path       string
	FreshTypes []string
	// Audit says who made the commit's changes, when the API server's
	// audit events told: the commit's author is that user.
	Audit *AuditTrailers
}

// AuditTrailers are what a commit says of the audit events its changes
// were matched to, beyond the author.
type AuditTrailers struct {
	User         string
	Impersonator string
	UserAgents   []string
	SourceIPs    []string
	// Matched is how many changes were matched to an event, Approximate
	// how many of them by object, verb and time rather than by
	// resourceVersion.
	Matched, Approximate int
}

// The trailers kubesnap log reads.
const (
	ChangedTrailer = "Kubesnap-Changed"
	PathTrailer    = "Kubesnap-Path"
)

// String renders the trailers as the last paragraph of a commit message
// holds them, one "Kubesnap-Key: value" line each, in a fixed order;
// Kubesnap-Objects is always there, the others when set.
func (tr Trailers) String() string {
	var b strings.Builder
	if tr.Cluster != "" {
		fmt.Fprintf(&b, "Kubesnap-Cluster: %s\n", tr.Cluster)
	}
	if tr.ServerVersion != "" {
		fmt.Fprintf(&b, "Kubesnap-Server-Version: %s\n", tr.ServerVersion)
	}
	if tr.ResourceVersion != "" {
		fmt.Fprintf(&b, "Kubesnap-Resource-Version: %s\n", tr.ResourceVersion)
	}
	fmt.Fprintf(&b, "Kubesnap-Objects: %d\n", tr.Objects)
	if tr.Changed != nil {
		fmt.Fprintf(&b, "%s: %d\n", ChangedTrailer, *tr.Changed)
	}
	if tr.Path != "" {
		fmt.Fprintf(&b, "%s: %s\n", PathTrailer, tr.Path)
	}
	if len(tr.FreshTypes) > 0 {
		fmt.Fprintf(&b, "Kubesnap-Fresh-Lists: %s\n", strings.Join(tr.FreshTypes, ", "))
	}
	if a := tr.Audit; a != nil {
		a.write(&b)
	}
	return b.String()
}

// changedCount is Trailers.Changed for changes made against the branch
// head: the files outside .kubesnap/.
func changedCount(changes []Change) *int {
	n := 0
	for _, c := range changes {
		if !strings.HasPrefix(c.Path, kubesnapDir) {
			n++
		}
	}
	return &n
}

// storePath is Trailers.Path for st: its prefix when it has one.
func storePath(st Store) string {
	if p, ok := st.(Prefixed); ok {
		return p.Prefix()
	}
	return ""
}

// Trailer returns the value of the trailer key in the last paragraph of
// msg, and whether it is there.
func Trailer(msg, key string) (string, bool) {
	msg = strings.TrimRight(msg, "\n")
	if i := strings.LastIndex(msg, "\n\n"); i >= 0 {
		msg = msg[i+2:]
	}
	for line := range strings.SplitSeq(msg, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// ChangedOf reads the Kubesnap-Changed trailer of msg; ok is false when
// msg has none (a commit by an older kubesnap or by hand) or it is not a
// count.
func ChangedOf(msg string) (n int, ok bool) {
	v, ok := Trailer(msg, ChangedTrailer)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
