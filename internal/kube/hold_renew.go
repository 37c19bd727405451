package kube

import (
	"context"
	"errors"
	"time"

	"github.com/kubesnap/kubesnap/restore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// renew renews the lease every third of its duration until release or
// ctx ends. When another restore has taken the lease over (this one
// failed to renew for a whole duration), it stops: the lease is theirs.
func (h *hold) renew(ctx context.Context) {
	defer close(h.done)
	tick := time.NewTicker(max(h.duration/3, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stop:
			return
		case <-tick.C:
		}
		l := h.lease.DeepCopy()
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		out, err := h.leases.Update(ctx, l, metav1.UpdateOptions{FieldManager: restore.FieldManager})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// Changed or deleted by someone else: claim it again, unless
			// another restore holds it now.
			out, err = h.take(ctx)
		}
		switch {
		case err == nil:
			h.lease = out
		case errors.Is(err, errRestoreLeaseHeld):
			h.log.Warn("another restore took the restore lease over; this restore no longer holds it", "err", err)
			return
		case ctx.Err() == nil:
			h.log.Warn("could not renew the restore lease; trying again", "every", h.duration/3, "err", err)
		}
	}
}

// remove deletes the lease if it is still this hold's: same holder, same
// acquireTime, and unchanged since it was read.
func (h *hold) remove(ctx context.Context) error {
	l, err := h.leases.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rec := resourcelock.LeaseSpecToLeaderElectionRecord(&l.Spec)
	if rec.HolderIdentity != h.holder || !sameTime(l.Spec.AcquireTime, h.lease.Spec.AcquireTime) {
		return nil // taken over: another restore's lease now
	}
	uid, rv := l.UID, l.ResourceVersion
	err = h.leases.Delete(ctx, RestoreLeaseName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // a conflict: written since it was read, by its new holder
	}
	return err
}

// sameTime reports whether a and b are both set and the same instant.
func sameTime(a, b *metav1.MicroTime) bool {
	return a != nil && b != nil && a.Equal(b)
}
