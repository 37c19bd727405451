package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Election says which Lease replicas compete for, and how fast a new
// leader takes over when the old one is gone: within LeaseDuration.
type Election struct {
	Namespace, Name string
	Identity        string
	LeaseDuration   time.Duration
	RenewDeadline   time.Duration
	RetryPeriod     time.Duration
}

// DefaultElection is client-go's usual timing: 15s lease, 10s renew
// deadline, 2s retry.
func DefaultElection(namespace, identity string) Election {
	return Election{Namespace: namespace, Name: "kubesnap-watch", Identity: identity,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

// LeaderElect runs lead while this process holds the Lease, and returns
// when ctx ends or leadership is lost; lead's context is cancelled then.
// The Lease is given up only after lead returned, so a successor starts
// after the old leader's last commit and push. lost reports that
// leadership was lost rather than ctx ending.
func (c *Cluster) LeaderElect(ctx context.Context, e Election, lead func(context.Context), standby func(leader string)) (lost bool, err error) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
		Client:     c.leases,
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	// The election outlives ctx until lead has finished.
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ecancel()
	// client-go calls OnStartedLeading in a goroutine of its own, which may
	// run after ctx ended, or after Run returned when the Lease was won
	// just as ctx ended: under mu, lead starts only while ctx lasts and
	// LeaderElect has not returned, and LeaderElect waits for a lead that
	// started.
	var mu sync.Mutex
	var started, returned bool
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			ecancel()
		}
	})
	defer stop()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   e.LeaseDuration,
		RenewDeadline:   e.RenewDeadline,
		RetryPeriod:     e.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				mu.Lock()
				if returned || ctx.Err() != nil {
					mu.Unlock()
					return // too late to lead
				}
				started = true
				mu.Unlock()
				defer close(done)
				defer ecancel()
				// ctx ending is a graceful stop (commit, push); the Lease
				// lost is not: another replica may lead already.
				runCtx, cancel := context.WithCancelCause(context.WithoutCancel(lctx))
				defer cancel(nil)
				defer context.AfterFunc(ctx, func() { cancel(nil) })()
				defer context.AfterFunc(lctx, func() { cancel(snapsync.ErrAbandon) })()
				lead(runCtx)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != e.Identity && standby != nil {
					standby(id)
				}
			},
		},
	})
	if err != nil {
		return false, fmt.Errorf("leader election on lease %s/%s: %w", e.Namespace, e.Name, err)
	}
	le.Run(ectx)
	mu.Lock()
	returned = true
	led := started
	mu.Unlock()
	if led {
		<-done
	}
	return led && ctx.Err() == nil, nil
}
