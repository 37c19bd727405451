package kube

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// look is one read of the restore lease by a watcher: at, seconds after
// the first read, it sees rec (nil: no lease) and should judge held.
type look struct {
	at         time.Duration
	rec        *resourcelock.LeaderElectionRecord
	wantHolder string
	held       bool
}

func TestLeaseObserverJudgesFreshnessByWhenItSawTheLeaseChange(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	record := func(holder string, renewed time.Time, secs int) *resourcelock.LeaderElectionRecord {
		return &resourcelock.LeaderElectionRecord{
			HolderIdentity: holder, LeaseDurationSeconds: secs,
			AcquireTime: metav1.NewTime(renewed), RenewTime: metav1.NewTime(renewed),
		}
	}
	longAgo := record("restore-a", start.Add(-time.Hour), 30)
	ahead := record("restore-a", start.Add(time.Hour), 30)
	first := record("restore-a", start, 30)
	renewed := record("restore-a", start.Add(20*time.Second), 30)
	other := record("restore-b", start.Add(20*time.Second), 30)
	cases := []struct {
		name  string
		looks []look
	}{{
		name: "a lease seen first with a holder is held for its duration from that look, however old its renewTime",
		looks: []look{
			{at: 0, rec: longAgo, wantHolder: "restore-a", held: true},
			{at: 29 * time.Second, rec: longAgo, wantHolder: "restore-a", held: true},
			{at: 30 * time.Second, rec: longAgo, wantHolder: "restore-a", held: false},
		},
	}, {
		name: "a renewTime ahead of this clock does not keep it held past its duration",
		looks: []look{
			{at: 0, rec: ahead, wantHolder: "restore-a", held: true},
			{at: 31 * time.Second, rec: ahead, wantHolder: "restore-a", held: false},
		},
	}, {
		name: "a renewal seen restarts the duration from when it was seen",
		looks: []look{
			{at: 0, rec: first, wantHolder: "restore-a", held: true},
			{at: 25 * time.Second, rec: renewed, wantHolder: "restore-a", held: true},
			{at: 54 * time.Second, rec: renewed, wantHolder: "restore-a", held: true},
			{at: 55 * time.Second, rec: renewed, wantHolder: "restore-a", held: false},
		},
	}, {
		name: "a lease that stopped changing expires, and a later renewal holds it again",
		looks: []look{
			{at: 0, rec: first, wantHolder: "restore-a", held: true},
			{at: 40 * time.Second, rec: first, wantHolder: "restore-a", held: false},
			{at: 50 * time.Second, rec: renewed, wantHolder: "restore-a", held: true},
		},
	}, {
		name: "a new holder is a change: held, by the new holder",
		looks: []look{
			{at: 0, rec: first, wantHolder: "restore-a", held: true},
			{at: 40 * time.Second, rec: first, wantHolder: "restore-a", held: false},
			{at: 41 * time.Second, rec: other, wantHolder: "restore-b", held: true},
		},
	}, {
		name: "a lease without a holder is not held",
		looks: []look{
			{at: 0, rec: record("", start, 30), held: false},
			{at: time.Second, rec: record("", start.Add(time.Second), 30), held: false},
		},
	}, {
		name: "a lease without a duration is not held",
		looks: []look{
			{at: 0, rec: record("restore-a", start, 0), wantHolder: "restore-a", held: false},
		},
	}, {
		name: "a deleted lease is not held, and one created again counts from when it is seen",
		looks: []look{
			{at: 0, rec: first, wantHolder: "restore-a", held: true},
			{at: 10 * time.Second, rec: nil, held: false},
			{at: 40 * time.Second, rec: first, wantHolder: "restore-a", held: true},
			{at: 69 * time.Second, rec: first, wantHolder: "restore-a", held: true},
			{at: 70 * time.Second, rec: first, wantHolder: "restore-a", held: false},
		},
	}, {
		name: "no lease is not held",
		looks: []look{
			{at: 0, rec: nil, held: false},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := start
			o := newLeaseObserver(func() time.Time { return now })
			for _, l := range c.looks {
				now = start.Add(l.at)
				holder, held := o.observe(l.rec)
				if holder != l.wantHolder || held != l.held {
					t.Errorf("at %s: observe = %q, %v; want %q, %v", l.at, holder, held, l.wantHolder, l.held)
				}
			}
		})
	}
}

func TestRenewedWithinReadsTheHoldersRenewTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }
	cases := []struct {
		name string
		rec  resourcelock.LeaderElectionRecord
		want bool
	}{
		{"renewed within its duration", resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 30, RenewTime: at(-29 * time.Second)}, true},
		{"renewed a duration ago", resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 30, RenewTime: at(-30 * time.Second)}, false},
		{"no renewTime, acquired within its duration", resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 30, AcquireTime: at(-time.Second)}, true},
		{"neither time: expired", resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 30}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := renewedWithin(&c.rec, now); got != c.want {
				t.Errorf("renewedWithin = %v, want %v", got, c.want)
			}
		})
	}
}
