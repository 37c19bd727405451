package restore

import (
	"context"
	"errors"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FieldManager is the manager a restore applies under.
const FieldManager = "kubesnap"

// Target is the cluster a restore writes to.
type Target interface {
	// Served lists the resource types the server serves, one preferred
	// version per group, and the server's version ("v1.37.2").
	Served(ctx context.Context) (types []canonical.Type, serverVersion string, err error)
	// Each calls fn for every live object of type t, paging; in all
	// namespaces when namespace is "".
	Each(ctx context.Context, t canonical.Type, namespace string, fn func(*unstructured.Unstructured) error) error
	// Apply server-side applies obj (of type t) under FieldManager.
	// force takes over fields other managers own; dryRun only validates
	// (the server runs admission, nothing is stored). An immutable field
	// that differs wraps ErrImmutable.
	Apply(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured, force, dryRun bool) error
	// DryRun returns what the server would store if obj were applied
	// with force; nothing is changed.
	DryRun(ctx context.Context, t canonical.Type, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
	// Delete deletes one object (in the background: dependents go with
	// it) and returns once the server accepted; an absent object is not
	// an error. dryRun only validates.
	Delete(ctx context.Context, t canonical.Type, namespace, name string, dryRun bool) error
	// WaitEstablished waits until the CustomResourceDefinition name is
	// Established and NamesAccepted, and its types are served.
	WaitEstablished(ctx context.Context, name string, timeout time.Duration) error
	// Hold takes the restore lease (the Lease kube-system/kubesnap-restore,
	// naming holder and revision) and renews it until release is called;
	// release removes it. It fails when another restore holds a fresh
	// restore lease.
	Hold(ctx context.Context, holder, revision string) (release func(), err error)
}

// ErrNotServed is wrapped by Target.Apply and DryRun when the server does
// not serve the object's API version (or its type at all).
var ErrNotServed = errors.New("not served")

// ErrImmutable is wrapped by Target.Apply when the server refuses to
// change an immutable field: only --recreate (delete, then create) can.
var ErrImmutable = errors.New("immutable field")
