package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// RestoreHeld reads the restore lease and says who holds it, and whether
// the holding is fresh: a holder is named, and this process saw the
// lease's record change (a renewal, a new holder) less than its duration
// ago, counting from the first read that saw it. A lease without a holder,
// or none at all, is not held. As client-go's leader election, it never
// compares the holder's renewTime with this machine's clock, so skewed
// clocks neither hold commits forever nor let them through a live restore.
func (c *Cluster) RestoreHeld(ctx context.Context) (holder string, held bool, err error) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta: metav1.ObjectMeta{Namespace: RestoreLeaseNamespace, Name: RestoreLeaseName},
		Client:    c.leases,
	}
	rec, _, err := lock.Get(ctx)
	if apierrors.IsNotFound(err) {
		holder, held = c.restoreLease.observe(nil)
		return holder, held, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read the restore lease %s/%s: %w", RestoreLeaseNamespace, RestoreLeaseName, err)
	}
	holder, held = c.restoreLease.observe(rec)
	return holder, held, nil
}

// leaseObserver keeps what a process last saw of one Lease, and when, to
// judge whether it is held the way client-go's LeaderElector does:
// held while now < observedTime + leaseDuration, where observedTime is
// when the record last changed between two reads.
type leaseObserver struct {
	now func() time.Time

	mu sync.Mutex
	// raw is the record as last read (resourcelock's JSON form); nil when
	// the Lease was absent or not read yet.
	raw          []byte
	record       resourcelock.LeaderElectionRecord
	observedTime time.Time
}

func newLeaseObserver(now func() time.Time) *leaseObserver {
	return &leaseObserver{now: now}
}

// observe takes one read of the Lease, its record as LeaseLock.Get
// returns it (nil for a Lease that does not exist), and returns its
// holder and whether it is held now. A record that differs from the last
// one read (compared in the JSON form LeaderElector compares, where times
// count to the second) restarts the duration from now; a Lease that was
// absent and appears again counts as new.
func (o *leaseObserver) observe(rec *resourcelock.LeaderElectionRecord) (holder string, held bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if rec == nil {
		o.raw, o.record, o.observedTime = nil, resourcelock.LeaderElectionRecord{}, time.Time{}
		return "", false
	}
	raw, err := json.Marshal(*rec)
	if err != nil {
		raw = nil // cannot happen (plain fields); counts as a change
	}
	if o.raw == nil || raw == nil || !bytes.Equal(o.raw, raw) {
		o.raw, o.record, o.observedTime = raw, *rec, now
	}
	if o.record.HolderIdentity == "" {
		return "", false
	}
	expires := o.observedTime.Add(time.Duration(o.record.LeaseDurationSeconds) * time.Second)
	return o.record.HolderIdentity, now.Before(expires)
}
