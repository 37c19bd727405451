package sync

import (
	"context"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
)

// Audit tells who made a change, from the API server's audit events
// (kubesnap watch --audit-listen); internal/audit implements it. It holds
// only each event's identity and object reference, never a body.
type Audit interface {
	// Who returns who made the change q, when an event it holds matches
	// it: exactly, by the object and q.ResourceVersion, when the event
	// carries the resourceVersion its response held; otherwise by the
	// object, the verb and a short time window around q.Seen, and then
	// Actor.Approximate is set.
	Who(q AuditQuery) (Actor, bool)
	// Arrived receives a value (sent without blocking) when new events
	// came in, so that a commit waiting for them can ask again.
	Arrived() <-chan struct{}
}

// AuditQuery is one change the watcher is about to commit.
type AuditQuery struct {
	ID canonical.ID
	// Op is what happened: Added matches a create, Modified an update or
	// a patch, Deleted a delete or a deletecollection.
	Op Op
	// ResourceVersion is the object's after the change, as the watch
	// delivered it; "" when not known.
	ResourceVersion string
	// Seen is when the watcher received the change.
	Seen time.Time
}

// Actor is who made a change, as the API server authenticated them.
type Actor struct {
	// User is the user name: alice, alice@example.com,
	// system:serviceaccount:ci:deployer.
	User string
	// Impersonator is the user who made the request as User, or "".
	Impersonator string
	UserAgent    string
	SourceIP     string
	// Approximate says the event was matched by object, verb and time,
	// not by resourceVersion.
	Approximate bool
}

// AuthoredStore is a Store whose commits can name their author; the
// committer stays the store's own identity.
type AuthoredStore interface {
	Store
	CommitAs(ctx context.Context, changes []Change, message string, author Author) (string, error)
}

// Author is a commit's git author.
type Author struct {
	Name, Email string
}
