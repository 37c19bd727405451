package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/kubesnap/kubesnap/restore"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Hold takes the restore lease: the Lease kube-system/kubesnap-restore,
// naming holder and, in the annotation RestoreRevisionAnnotation,
// revision. A lease that another holder renewed within its duration makes
// Hold fail, saying who holds it; a stale one (its restore died) is taken
// over. A goroutine renews the lease every third of its duration until
// release, which stops it and deletes the lease unless another holder took
// it over meanwhile. release bounds its own request by a few seconds and
// works after ctx ended, so an interrupted restore still removes its
// lease; what it cannot remove expires after RestoreLeaseDuration.
//
// The lease's spec is written as client-go's leader election writes it
// (resourcelock.LeaderElectionRecord); the writes are Hold's own rather
// than resourcelock.LeaseLock's, which can set neither the revision
// annotation nor the field manager.
func (tg *Target) Hold(ctx context.Context, holder, revision string) (release func(), err error) {
	if holder == "" {
		return nil, errors.New("take the restore lease: no holder name")
	}
	h := &hold{
		leases: tg.c.leases.Leases(RestoreLeaseNamespace),
		holder: holder, revision: revision, duration: tg.leaseDuration, log: tg.Log,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.lease, err = h.take(ctx); err != nil {
		return nil, err
	}
	go h.renew(ctx)
	var once gosync.Once
	return func() {
		once.Do(func() {
			close(h.stop)
			<-h.done
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := h.remove(rctx); err != nil {
				h.log.Warn("could not remove the restore lease; watchers hold their commits until it expires",
					"lease", RestoreLeaseNamespace+"/"+RestoreLeaseName, "expires", h.duration, "err", err)
			}
		})
	}, nil
}

// hold is one restore's hold of the restore lease.
type hold struct {
	leases           coordinationv1client.LeaseInterface
	holder, revision string
	duration         time.Duration
	log              *slog.Logger
	stop, done       chan struct{}
	// lease is the restore lease as last written; only renew changes it,
	// and release reads it after renew ended.
	lease *coordinationv1.Lease
}

// take creates the lease, or takes over one that is stale or this
// holder's own; it fails with errRestoreLeaseHeld when another holder's
// lease is fresh. A takeover is an update at the resourceVersion read, so
// of two restores taking over one stale lease, one wins and the other
// sees it held.
func (h *hold) take(ctx context.Context) (*coordinationv1.Lease, error) {
	for range 5 {
		now := time.Now()
		l, err := h.leases.Create(ctx, h.claim(&coordinationv1.Lease{}, now, 0), metav1.CreateOptions{FieldManager: restore.FieldManager})
		if err == nil {
			return l, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, restoreLeaseError("take", err)
		}
		old, err := h.leases.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // released in between
		}
		if err != nil {
			return nil, restoreLeaseError("read", err)
		}
		rec := resourcelock.LeaseSpecToLeaderElectionRecord(&old.Spec)
		if rec.HolderIdentity != "" && rec.HolderIdentity != h.holder && renewedWithin(rec, now) {
			return nil, h.heldError(old, rec, now)
		}
		l, err = h.leases.Update(ctx, h.claim(old, now, rec.LeaderTransitions+1), metav1.UpdateOptions{FieldManager: restore.FieldManager})
		if err == nil {
			return l, nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return nil, restoreLeaseError("take over", err)
		}
	}
	return nil, fmt.Errorf("take the restore lease %s/%s: it kept changing under us: run the restore again", RestoreLeaseNamespace, RestoreLeaseName)
}

// claim writes this holder's claim into l: a fresh acquire and renew
// time, this revision, and transitions. Other fields of the spec stay.
func (h *hold) claim(l *coordinationv1.Lease, now time.Time, transitions int) *coordinationv1.Lease {
	l.Namespace, l.Name = RestoreLeaseNamespace, RestoreLeaseName
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[RestoreRevisionAnnotation] = h.revision
	rec := resourcelock.LeaseSpecToLeaderElectionRecord(&l.Spec)
	rec.HolderIdentity = h.holder
	rec.LeaseDurationSeconds = max(int(h.duration/time.Second), 1)
	rec.AcquireTime = metav1.NewTime(now)
	rec.RenewTime = rec.AcquireTime
	rec.LeaderTransitions = transitions
	l.Spec = resourcelock.LeaderElectionRecordToLeaseSpec(rec)
	return l
}

func (h *hold) heldError(l *coordinationv1.Lease, rec *resourcelock.LeaderElectionRecord, now time.Time) error {
	ago := "recently"
	if !rec.RenewTime.IsZero() {
		ago = now.Sub(rec.RenewTime.Time).Round(time.Second).String() + " ago"
	}
	rev := ""
	if r := l.Annotations[RestoreRevisionAnnotation]; r != "" {
		rev = " restoring " + r
	}
	return fmt.Errorf("%w by %s%s (renewed %s): wait until that restore ends; if it died, its lease expires %ds after its last renewal, or delete it: kubectl -n %s delete lease %s",
		errRestoreLeaseHeld, rec.HolderIdentity, rev, ago, rec.LeaseDurationSeconds, RestoreLeaseNamespace, RestoreLeaseName)
}
