package sync

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gosync "sync"
)

// fakeAudit knows who made the changes of the objects it was told of, by
// name; a query records the change it was asked about.
type fakeAudit struct {
	mu      gosync.Mutex
	actors  map[string]Actor // by object name
	asked   []AuditQuery
	arrived chan struct{}
}

func newFakeAudit() *fakeAudit {
	return &fakeAudit{actors: map[string]Actor{}, arrived: make(chan struct{}, 1)}
}

func (a *fakeAudit) Who(q AuditQuery) (Actor, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, q)
	actor, ok := a.actors[q.ID.Name]
	return actor, ok
}

func (a *fakeAudit) Arrived() <-chan struct{} { return a.arrived }

// tell makes the events of name's changes arrive, made by actor.
func (a *fakeAudit) tell(name string, actor Actor) {
	a.mu.Lock()
	a.actors[name] = actor
	a.mu.Unlock()
	select {
	case a.arrived <- struct{}{}:
	default:
	}
}

func (s *fakeStore) history() (authors, messages []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authors...), append([]string(nil), s.messages...)
}

// A batch holding changes by two users becomes one commit each, authored
// by them; a change no event matches is committed on its own, by
// kubesnap, naming its manager.
func TestAuditMakesOneCommitPerUser(t *testing.T) {
	c, st, audit := newFakeCluster(), newFakeStore(), newFakeAudit()
	audit.tell("a1", Actor{User: "alice", UserAgent: "kubectl/v1.37", SourceIP: "10.0.0.1"})
	audit.tell("a2", Actor{User: "alice", UserAgent: "kubectl/v1.37", SourceIP: "10.0.0.1"})
	audit.tell("b1", Actor{User: "system:serviceaccount:ci:deployer", Impersonator: "bob", Approximate: true})
	startWatcher(t, c, st, WatchOptions{Debounce: 50 * time.Millisecond, Audit: audit, AuditWait: 50 * time.Millisecond})
	_, before := st.snapshot()
	for _, n := range []string{"a1", "b1", "a2", "nobody"} {
		c.apply("ns", n, map[string]any{"k": n})
	}
	waitFor(t, "four objects committed", func() bool {
		files, _ := st.snapshot()
		return len(files) >= 4
	})
	authors, messages := st.history()
	authors, messages = authors[before:], messages[before:]
	want := []string{"", "alice", "system:serviceaccount:ci:deployer"}
	if strings.Join(authors, ",") != strings.Join(want, ",") {
		t.Fatalf("commit authors %q, want %q (one commit per user, unmatched first)", authors, want)
	}
	for _, line := range []string{"Kubesnap-Audit-User: alice", "Kubesnap-Audit-User-Agent: kubectl/v1.37", "Kubesnap-Audit-Source-IP: 10.0.0.1", "Kubesnap-Audit-Match: exact", "Kubesnap-Changed: 2"} {
		if !containsLine(messages[1], line) {
			t.Errorf("alice's commit has no line %q:\n%s", line, messages[1])
		}
	}
	for _, line := range []string{"Kubesnap-Audit-Impersonator: bob", "Kubesnap-Audit-Match: approximate", "Kubesnap-Changed: 1"} {
		if !containsLine(messages[2], line) {
			t.Errorf("the service account's commit has no line %q:\n%s", line, messages[2])
		}
	}
	if strings.Contains(messages[0], "Kubesnap-Audit") {
		t.Errorf("the unmatched change's commit names an audit event:\n%s", messages[0])
	}
}

// A change whose event has not arrived waits for it up to AuditWait, and
// its commit is made as soon as the event comes.
func TestAuditWaitsForTheEvent(t *testing.T) {
	c, st, audit := newFakeCluster(), newFakeStore(), newFakeAudit()
	startWatcher(t, c, st, WatchOptions{Debounce: 10 * time.Millisecond, Audit: audit, AuditWait: time.Hour})
	_, before := st.snapshot()
	c.apply("ns", "late", map[string]any{"k": "v"})
	time.Sleep(200 * time.Millisecond)
	if _, n := st.snapshot(); n != before {
		t.Fatal("the change was committed before its audit event arrived")
	}
	audit.tell("late", Actor{User: "carol"})
	waitFor(t, "carol's commit", func() bool {
		authors, _ := st.history()
		return len(authors) > before && authors[len(authors)-1] == "carol"
	})
	audit.mu.Lock()
	defer audit.mu.Unlock()
	q := audit.asked[len(audit.asked)-1]
	if q.ID.Name != "late" || q.Op != Added || q.ResourceVersion == "" || q.Seen.IsZero() {
		t.Errorf("asked %+v; want the object, Added, its resourceVersion and when it was seen", q)
	}
}

// Without an event within AuditWait, the change is committed as without
// audit: by kubesnap.
func TestAuditWaitsNoLongerThanAuditWait(t *testing.T) {
	c, st, audit := newFakeCluster(), newFakeStore(), newFakeAudit()
	startWatcher(t, c, st, WatchOptions{Debounce: 10 * time.Millisecond, Audit: audit, AuditWait: 100 * time.Millisecond})
	_, before := st.snapshot()
	c.apply("ns", "never", map[string]any{"k": "v"})
	waitFor(t, "the commit", func() bool { _, n := st.snapshot(); return n > before })
	authors, _ := st.history()
	if authors[len(authors)-1] != "" {
		t.Errorf("author %q, want the store's own", authors[len(authors)-1])
	}
}

// When the second of two users' commits fails, the first stays committed
// and only the second's changes are pending again.
func TestAuditFailedSecondCommitPutsBackOnlyItsChanges(t *testing.T) {
	st, audit := newFakeStore(), newFakeAudit()
	w := NewWatcher(newFakeCluster(), st, WatchOptions{Audit: audit})
	w.stored = map[string]string{}
	audit.tell("a", Actor{User: "alice"})
	audit.tell("b", Actor{User: "bob"})
	pa, pb := "namespaces/ns/configmaps/a.yaml", "namespaces/ns/configmaps/b.yaml"
	w.mu.Lock()
	for _, p := range []string{pa, pb} {
		data := []byte(p)
		w.setPending(p, pendingChange{Change: Change{Op: Added, Path: p, ID: mustID(p), Data: data}, blob: st.BlobID(data), seen: time.Now()})
	}
	w.mu.Unlock()
	st.failAfter(1)
	w.commit(t.Context())
	authors, _ := st.history()
	if len(authors) != 1 || authors[0] != "alice" {
		t.Fatalf("commits by %q, want alice's alone", authors)
	}
	if _, ok := w.pending.get(pa); ok {
		t.Error("alice's committed change is pending again")
	}
	if _, ok := w.pending.get(pb); !ok || w.stored[pb] != "" {
		t.Errorf("bob's failed change: pending %v, stored %q; want pending and not stored", ok, w.stored[pb])
	}
	if w.stored[pa] == "" {
		t.Error("alice's change is no longer stored")
	}
}

// A user agent is whatever the client sent: it cannot add a trailer of
// its own or run on without end.
func TestAuditTrailerValuesAreOneBoundedLine(t *testing.T) {
	tr := Trailers{Objects: 1, Audit: &AuditTrailers{User: "alice", Matched: 1, UserAgents: []string{trailerSafe("evil\nKubesnap-Path: elsewhere\r\n" + strings.Repeat("x", 500))}}}
	s := tr.String()
	if _, ok := Trailer(s, PathTrailer); ok {
		t.Errorf("a user agent added a Kubesnap-Path trailer:\n%s", s)
	}
	for line := range strings.SplitSeq(s, "\n") {
		if len(line) > maxTrailerValue+64 {
			t.Errorf("trailer line of %d bytes", len(line))
		}
	}
}

func (s *fakeStore) failAfter(ok int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.okBeforeFailing = ok
	s.failures = 1
}

// An update that leaves the file as the pending change makes it (a
// controller's status or annotation after a user's change) does not take
// the change over: the audit events are asked about the user's update.
func TestAuditAsksAboutTheUpdateThatChangedTheFile(t *testing.T) {
	c, st, audit := newFakeCluster(), newFakeStore(), newFakeAudit()
	startWatcher(t, c, st, WatchOptions{Debounce: 10 * time.Millisecond, Audit: audit, AuditWait: time.Hour})
	_, before := st.snapshot()
	c.apply("ns", "web", map[string]any{"image": "v2"})
	c.mu.Lock()
	userRV := fmt.Sprint(c.rv)
	c.mu.Unlock()
	c.apply("ns", "web", map[string]any{"image": "v2"}) // the controller's update
	audit.tell("web", Actor{User: "alice"})
	waitFor(t, "alice's commit", func() bool {
		authors, _ := st.history()
		return len(authors) > before && authors[len(authors)-1] == "alice"
	})
	audit.mu.Lock()
	defer audit.mu.Unlock()
	if q := audit.asked[len(audit.asked)-1]; q.ResourceVersion != userRV {
		t.Errorf("asked about resourceVersion %s, want the user's update %s", q.ResourceVersion, userRV)
	}
}
