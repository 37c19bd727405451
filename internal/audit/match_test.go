package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

func q(op snapsync.Op, rv string, seen time.Time) snapsync.AuditQuery {
	return snapsync.AuditQuery{ID: appID, Op: op, ResourceVersion: rv, Seen: seen}
}

func TestExactMatchByResourceVersion(t *testing.T) {
	h := start(t, nil)
	h.send(t,
		ev{verb: "create", user: "alice", rv: "10"},
		ev{verb: "update", user: "bob", rv: "11", requestRV: "10", completed: t0.Add(time.Second)},
		ev{verb: "patch", user: "carol", rv: "12", completed: t0.Add(2 * time.Second)},
	)
	for _, c := range []struct {
		op         snapsync.Op
		rv, want   string
		seenOffset time.Duration
	}{
		// Exact matches ignore time and verb: the change is the one the
		// answer carried.
		{snapsync.Added, "10", "alice", time.Hour},
		{snapsync.Modified, "11", "bob", -time.Hour},
		{snapsync.Deleted, "12", "carol", 0},
	} {
		a, ok := h.r.Who(q(c.op, c.rv, t0.Add(c.seenOffset)))
		if !ok || a.User != c.want || a.Approximate {
			t.Errorf("rv %s: Who = %+v, %v; want %s, exact", c.rv, a, ok, c.want)
		}
	}
	if got := testutil.ToFloat64(h.r.metrics.matches.WithLabelValues("exact")); got != 3 {
		t.Errorf("exact matches counted: %v, want 3", got)
	}
}

// The request's objectRef.resourceVersion is the version it was made
// against (bob's update was made against alice's 10): it must not name
// bob as the author of 10.
func TestTheRequestsResourceVersionIsNotTheChanges(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "update", user: "bob", requestRV: "10", rv: "11"})
	a, ok := h.r.Who(q(snapsync.Modified, "10", t0))
	if ok {
		t.Fatalf("change 10 matched %+v, whose request was only made against it", a)
	}
}

func TestApproximateMatchByVerbAndTime(t *testing.T) {
	h := start(t, nil)
	h.send(t,
		ev{verb: "update", user: "early", completed: t0.Add(-4 * time.Second)},
		ev{verb: "update", user: "alice", completed: t0.Add(-time.Second)},
		ev{verb: "create", user: "creator", completed: t0.Add(-500 * time.Millisecond)},
		ev{verb: "patch", user: "other-object", name: "other", completed: t0},
	)
	a, ok := h.r.Who(q(snapsync.Modified, "55", t0))
	want := snapsync.Actor{User: "alice", UserAgent: "kubectl/v1.37.2", SourceIP: "10.0.0.7", Approximate: true}
	if !ok || a != want {
		t.Fatalf("Who = %+v, %v; want %+v", a, ok, want)
	}
	// An Added fits a create, the nearest.
	if a, ok := h.r.Who(q(snapsync.Added, "", t0)); !ok || a.User != "creator" || !a.Approximate {
		t.Errorf("Added: Who = %+v, %v; want creator, approximate", a, ok)
	}
	if got := testutil.ToFloat64(h.r.metrics.matches.WithLabelValues("approximate")); got != 2 {
		t.Errorf("approximate matches counted: %v, want 2", got)
	}
}

func TestSeenWhileTheRequestRanIsTheClosest(t *testing.T) {
	h := start(t, nil)
	h.send(t,
		ev{verb: "patch", user: "before", completed: t0.Add(-100 * time.Millisecond)},
		ev{verb: "patch", user: "during", received: t0.Add(-50 * time.Millisecond), completed: t0.Add(50 * time.Millisecond)},
	)
	if a, ok := h.r.Who(q(snapsync.Modified, "", t0)); !ok || a.User != "during" {
		t.Errorf("Who = %+v, %v; want the request still running when the change was seen", a, ok)
	}
}

func TestNoMatchOutsideTheWindow(t *testing.T) {
	h := start(t, func(o *Options) { o.Window, o.Skew = 2*time.Second, 300*time.Millisecond })
	h.send(t,
		ev{verb: "update", user: "too-early", completed: t0.Add(-2*time.Second - time.Millisecond)},
		ev{verb: "update", user: "too-late", received: t0.Add(301 * time.Millisecond), completed: t0.Add(400 * time.Millisecond)},
	)
	if a, ok := h.r.Who(q(snapsync.Modified, "", t0)); ok {
		t.Fatalf("matched %+v outside the window", a)
	}
	if got := testutil.ToFloat64(h.r.metrics.matches.WithLabelValues("none")); got != 1 {
		t.Errorf("misses counted: %v, want 1", got)
	}
	// Just inside, either side.
	h.send(t, ev{verb: "update", user: "late-clock", received: t0.Add(299 * time.Millisecond), completed: t0.Add(time.Second)})
	if a, ok := h.r.Who(q(snapsync.Modified, "", t0)); !ok || a.User != "late-clock" {
		t.Errorf("Who = %+v, %v; want the request received within the skew", a, ok)
	}
}

func TestVerbMustFitTheChange(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "create", user: "alice"})
	for _, op := range []snapsync.Op{snapsync.Modified, snapsync.Deleted, snapsync.Op('X')} {
		if a, ok := h.r.Who(q(op, "", t0)); ok {
			t.Errorf("%c matched a create: %+v", op, a)
		}
	}
}

// An event whose answer carried another resourceVersion made another
// change: it is no approximate candidate.
func TestAKnownOtherResourceVersionNeverMatches(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "update", user: "alice", rv: "7"})
	if a, ok := h.r.Who(q(snapsync.Modified, "8", t0)); ok {
		t.Fatalf("change 8 matched %+v, whose answer said 7", a)
	}
	if a, ok := h.r.Who(q(snapsync.Modified, "", t0)); !ok || a.User != "alice" || !a.Approximate {
		t.Errorf("with no resourceVersion to compare: Who = %+v, %v", a, ok)
	}
}

func TestImpersonation(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "update", user: "admin", impersonated: "alice", rv: "9"})
	a, ok := h.r.Who(q(snapsync.Modified, "9", t0))
	if !ok || a.User != "alice" || a.Impersonator != "admin" {
		t.Fatalf("Who = %+v, %v; want alice, impersonated by admin", a, ok)
	}
}

func TestDeleteCollectionMatchesEveryNameApproximately(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "deletecollection", user: "cleaner", uri: "/api/v1/namespaces/default/configmaps?labelSelector=app", response: map[string]any{"kind": "Status", "metadata": map[string]any{"resourceVersion": "100"}}})
	for _, name := range []string{"app", "db"} {
		id := canonical.ID{Resource: "configmaps", Namespace: "default", Name: name}
		a, ok := h.r.Who(snapsync.AuditQuery{ID: id, Op: snapsync.Deleted, ResourceVersion: "100", Seen: t0})
		if !ok || a.User != "cleaner" || !a.Approximate {
			t.Errorf("%s: Who = %+v, %v; want cleaner, approximate (a list's resourceVersion is no object's)", name, a, ok)
		}
	}
	other := canonical.ID{Resource: "configmaps", Namespace: "kube-system", Name: "app"}
	if a, ok := h.r.Who(snapsync.AuditQuery{ID: other, Op: snapsync.Deleted, Seen: t0}); ok {
		t.Errorf("another namespace matched %+v", a)
	}
	// A delete naming the object wins over the collection at equal
	// distance; a used event stays for the next change.
	h.send(t, ev{verb: "delete", user: "alice"})
	if a, ok := h.r.Who(q(snapsync.Deleted, "", t0)); !ok || a.User != "alice" {
		t.Errorf("Who = %+v, %v; want alice's named delete", a, ok)
	}
	if a, ok := h.r.Who(q(snapsync.Deleted, "", t0)); !ok || a.User != "alice" {
		t.Errorf("asked again: Who = %+v, %v; events are not consumed", a, ok)
	}
}

func TestACreateByGenerateNameTakesTheAnswersName(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{verb: "create", user: "alice", response: map[string]any{"metadata": map[string]any{"name": "app", "generateName": "ap"}}, rv: "5"})
	if a, ok := h.r.Who(q(snapsync.Added, "5", t0)); !ok || a.User != "alice" || a.Approximate {
		t.Errorf("Who = %+v, %v; want alice, exact", a, ok)
	}
}

func TestStatusUpdatesComeLast(t *testing.T) {
	h := start(t, nil)
	h.send(t,
		ev{verb: "patch", user: "alice", completed: t0.Add(-3 * time.Second)},
		ev{verb: "update", user: "controller", sub: "status", completed: t0},
	)
	if a, ok := h.r.Who(q(snapsync.Modified, "", t0)); !ok || a.User != "alice" {
		t.Errorf("Who = %+v, %v; want alice's patch over the nearer status update", a, ok)
	}
	h2 := start(t, nil)
	h2.send(t, ev{verb: "update", user: "controller", sub: "status", completed: t0})
	if a, ok := h2.r.Who(q(snapsync.Modified, "", t0)); !ok || a.User != "controller" {
		t.Errorf("Who = %+v, %v; a status update when nothing else fits", a, ok)
	}
	h2.send(t, ev{verb: "update", user: "scaler", sub: "scale", rv: "77"})
	if a, ok := h2.r.Who(q(snapsync.Modified, "77", t0)); !ok || a.User != "scaler" || a.Approximate {
		t.Errorf("Who = %+v, %v; want the scale update, exact", a, ok)
	}
}

func TestOnlyCompletedSuccessfulWritesAreKept(t *testing.T) {
	h := start(t, nil)
	h.send(t,
		ev{stage: "RequestReceived"},
		ev{stage: "ResponseStarted"},
		ev{code: 409},
		ev{code: 500},
		ev{verb: "get"},
		ev{verb: "list"},
		ev{verb: "watch"},
		ev{uri: "/api/v1/namespaces/default/configmaps?dryRun=All"},
		ev{uri: "/api/v1/namespaces/default/configmaps/app?fieldManager=x&dryRun=All", verb: "patch"},
		ev{user: "-"},
		ev{resource: "-"},
	)
	if n := h.held(); n != 0 {
		t.Fatalf("%d events held; none of these changed an object", n)
	}
	select {
	case <-h.r.Arrived():
		t.Error("Arrived received for a batch with nothing kept")
	default:
	}
	// A URI that does not parse is taken as a real request.
	h.send(t, ev{uri: "%zz"})
	if n := h.held(); n != 1 {
		t.Errorf("%d events held, want 1", n)
	}
}

func TestASecretsBodyIsNeverKept(t *testing.T) {
	h := start(t, nil)
	secret := map[string]any{
		"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
		"metadata": map[string]any{"name": "app", "namespace": "default", "resourceVersion": "31",
			"annotations": map[string]any{"note": secretValue}},
		"data":       map[string]any{"password": secretValue},
		"stringData": map[string]any{"token": secretValue},
	}
	h.send(t, ev{verb: "update", resource: "secrets", user: "alice", request: secret, response: secret, rv: "31"})
	id := canonical.ID{Resource: "secrets", Namespace: "default", Name: "app"}
	a, ok := h.r.Who(snapsync.AuditQuery{ID: id, Op: snapsync.Modified, ResourceVersion: "31", Seen: t0})
	if !ok || a.User != "alice" {
		t.Fatalf("Who = %+v, %v", a, ok)
	}
	h.r.mu.Lock()
	held := fmt.Sprintf("%+v %+v", h.r.idx.queue, *h.r.idx.queue[0])
	h.r.mu.Unlock()
	for where, s := range map[string]string{"log": h.logs.String(), "actor": fmt.Sprintf("%+v", a), "held entries": held} {
		if strings.Contains(s, secretValue) {
			t.Errorf("the %s holds the Secret's value:\n%s", where, s)
		}
	}
}

func TestIdentityIsCleaned(t *testing.T) {
	h := start(t, nil)
	h.send(t, ev{user: "alice\nSigned-off-by: mallory", agent: "evil\x1b[31m/" + strings.Repeat("é", 300), sourceIPs: []string{"not an address"}, rv: "3"})
	a, ok := h.r.Who(q(snapsync.Added, "3", t0))
	if !ok {
		t.Fatal("no match")
	}
	if a.User != "aliceSigned-off-by: mallory" || strings.ContainsAny(a.UserAgent, "\x1b\n") || len(a.UserAgent) > maxField || a.SourceIP != "" {
		t.Errorf("Who = %+q", []string{a.User, a.UserAgent, a.SourceIP})
	}
	if !strings.HasPrefix(a.UserAgent, "evil[31m/é") || !strings.HasSuffix(a.UserAgent, "é") {
		t.Errorf("user agent cut inside a character: %q", a.UserAgent)
	}
}

func TestEventsExpireByAgeAndNumber(t *testing.T) {
	h := start(t, func(o *Options) { o.Retain, o.MaxEvents = time.Minute, 3 })
	now := time.Now()
	h.r.now = func() time.Time { return now }
	h.send(t, ev{user: "a", rv: "1"}, ev{user: "b", rv: "2"})
	h.send(t, ev{user: "c", rv: "3"}, ev{user: "d", rv: "4"})
	if n := h.held(); n != 3 {
		t.Fatalf("%d held, want MaxEvents 3", n)
	}
	if a, ok := h.r.Who(q(snapsync.Added, "1", t0)); ok && !a.Approximate {
		t.Errorf("the oldest event is still matched exactly: %+v", a)
	}
	now = now.Add(time.Minute + time.Second)
	h.send(t, ev{user: "e", rv: "5"})
	if n := h.held(); n != 1 {
		t.Fatalf("%d held a minute later, want only the new one", n)
	}
	if got := testutil.ToFloat64(h.r.metrics.held); got != 1 {
		t.Errorf("kubesnap_audit_events_held = %v, want 1", got)
	}
	if a, ok := h.r.Who(q(snapsync.Added, "5", t0)); !ok || a.User != "e" {
		t.Errorf("Who = %+v, %v", a, ok)
	}
}
