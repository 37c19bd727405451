package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// dropRestoreLease deletes the restore lease when t ends, whatever t left.
func dropRestoreLease(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		err := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace).Delete(context.Background(), RestoreLeaseName, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
}

// restoreLeaseExists reports whether the restore lease exists.
func restoreLeaseExists(t *testing.T) bool {
	t.Helper()
	_, err := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace).Get(context.Background(), RestoreLeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestHoldShowsTheRestoreToWatchers(t *testing.T) {
	testenv.Require(t, env)
	dropRestoreLease(t)
	c := connect(t)
	ctx := t.Context()
	release, err := c.Target().Hold(ctx, "restore-a", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	holder, held, err := c.RestoreHeld(ctx)
	if err != nil || !held || holder != "restore-a" {
		t.Errorf("RestoreHeld while held = %q, %v, %v; want restore-a, held", holder, held, err)
	}
	l, err := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace).Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Annotations[RestoreRevisionAnnotation]; got != "abc123" {
		t.Errorf("revision annotation = %q, want abc123", got)
	}

	_, err = c.Target().Hold(ctx, "restore-b", "def456")
	if err == nil {
		t.Fatal("a second Hold while the restore lease is held succeeded")
	}
	for _, want := range []string{"restore-a", "abc123", "wait", "kubectl -n kube-system delete lease kubesnap-restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second Hold = %q, does not say %q", err, want)
		}
	}

	release()
	release() // twice is harmless
	if restoreLeaseExists(t) {
		t.Error("the restore lease is still there after release")
	}
	if _, held, err := c.RestoreHeld(ctx); held || err != nil {
		t.Errorf("RestoreHeld after release = %v, %v; want not held", held, err)
	}
}

func TestHoldTakesOverAStaleRestoreLease(t *testing.T) {
	testenv.Require(t, env)
	dropRestoreLease(t)
	ctx := t.Context()
	long := metav1.NewMicroTime(time.Now().Add(-time.Hour))
	holder, secs := "a-restore-that-died", int32(30)
	if _, err := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: RestoreLeaseName},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &long, RenewTime: &long},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := connect(t)
	release, err := c.Target().Hold(ctx, "restore-b", "def456")
	if err != nil {
		t.Fatalf("Hold over a stale restore lease: %v", err)
	}
	defer release()
	got, held, err := c.RestoreHeld(ctx)
	if err != nil || !held || got != "restore-b" {
		t.Errorf("RestoreHeld after a takeover = %q, %v, %v; want restore-b, held", got, held, err)
	}
	l, err := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace).Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.LeaseTransitions == nil || *l.Spec.LeaseTransitions != 1 {
		t.Errorf("leaseTransitions = %v, want 1", l.Spec.LeaseTransitions)
	}
}

func TestHoldRenewsTheRestoreLeasePastItsDuration(t *testing.T) {
	testenv.Require(t, env)
	dropRestoreLease(t)
	c := connect(t)
	tg := c.Target()
	tg.leaseDuration = 2 * time.Second
	release, err := tg.Hold(t.Context(), "restore-a", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A watcher judges freshness from when it saw the lease change: look
	// once now, so that the second look sees it held only if renewed.
	if holder, held, err := c.RestoreHeld(t.Context()); !held || err != nil {
		t.Fatalf("RestoreHeld right after Hold = %q, %v, %v; want held", holder, held, err)
	}
	time.Sleep(2 * tg.leaseDuration)
	if holder, held, err := c.RestoreHeld(t.Context()); !held || err != nil {
		t.Errorf("RestoreHeld two durations after Hold = %q, %v, %v; want held (renewed)", holder, held, err)
	}
}

func TestHoldReleaseRemovesTheRestoreLeaseAfterItsContextEnded(t *testing.T) {
	testenv.Require(t, env)
	dropRestoreLease(t)
	ctx, cancel := context.WithCancel(t.Context())
	release, err := connect(t).Target().Hold(ctx, "restore-a", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	cancel() // as an interrupt does
	release()
	if restoreLeaseExists(t) {
		t.Error("the restore lease is still there after an interrupted restore's release")
	}
}

func TestHoldReleaseLeavesARestoreLeaseAnotherRestoreTookOver(t *testing.T) {
	testenv.Require(t, env)
	dropRestoreLease(t)
	ctx := t.Context()
	release, err := connect(t).Target().Hold(ctx, "restore-a", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	// As if restore-a had stalled past its duration and restore-b took over.
	leases := env.Client(t).CoordinationV1().Leases(RestoreLeaseNamespace)
	l, err := leases.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, now := "restore-b", metav1.NewMicroTime(time.Now())
	l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = &b, &now, &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	l, err = leases.Get(ctx, RestoreLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restore-a's release removed restore-b's restore lease: %v", err)
	}
	if *l.Spec.HolderIdentity != "restore-b" {
		t.Errorf("holder after restore-a's release = %q, want restore-b", *l.Spec.HolderIdentity)
	}
}
