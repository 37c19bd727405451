package kube

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// RestoreLease names the restore lease: the Lease a restore holds while it
// runs, so that watchers hold their commits until it ends.
const (
	RestoreLeaseNamespace = "kube-system"
	RestoreLeaseName      = "kubesnap-restore"
)

// RestoreLeaseDuration is how long the restore lease stays held without a
// renewal: a restore that dies blocks watchers' commits at most this long
// after they last saw it renewed.
const RestoreLeaseDuration = 30 * time.Second

// RestoreRevisionAnnotation names, on the restore lease, the revision the
// restore applies.
const RestoreRevisionAnnotation = "kubesnap.io/revision"

// errRestoreLeaseHeld is wrapped when another restore holds a fresh
// restore lease.
var errRestoreLeaseHeld = errors.New("the restore lease is held")

// renewedWithin reports whether rec's holder renewed it (or, lacking a
// renewTime, acquired it) within its duration before now, by the holder's
// clock. A record without either time counts as expired.
func renewedWithin(rec *resourcelock.LeaderElectionRecord, now time.Time) bool {
	at := rec.RenewTime.Time
	if at.IsZero() {
		at = rec.AcquireTime.Time
	}
	if at.IsZero() {
		return false
	}
	return now.Before(at.Add(time.Duration(rec.LeaseDurationSeconds) * time.Second))
}

// restoreLeaseError says which request on the restore lease failed; a
// refusal names the rights a restore needs.
func restoreLeaseError(verb string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s the restore lease %s/%s: forbidden: %s (a restore needs the rights to create, get, update and delete leases in %s)",
			verb, RestoreLeaseNamespace, RestoreLeaseName, firstLine(err.Error()), RestoreLeaseNamespace)
	}
	return fmt.Errorf("%s the restore lease %s/%s: %w", verb, RestoreLeaseNamespace, RestoreLeaseName, err)
}
