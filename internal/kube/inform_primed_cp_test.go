package kube

import (
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	snapsync "github.com/kubesnap/kubesnap/sync"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// listCounter counts the requests that read a whole list of ConfigMaps:
// LISTs, and watches that stream the initial list (sendInitialEvents).
type listCounter struct {
	mu    gosync.Mutex
	lists int
}

// wrap counts the requests that rt sends.
func (c *listCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		q := r.URL.Query()
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/configmaps") && (q.Get("watch") == "" || q.Get("sendInitialEvents") == "true") {
			c.mu.Lock()
			c.lists++
			c.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (c *listCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists
}

// An informer primed with a snapshot's list reads no list of its own, and
// its watch, from the list's resourceVersion, delivers what changed
// between the list and the informer's start: an update, a delete and a
// create.
func TestPrimedInformerSeesChangesMadeAfterItsList(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	cs := env.Client(t)
	ctx := t.Context()
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "1"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	counter := &listCounter{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = counter.wrap
	c, err := New(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	transform := func(u *unstructured.Unstructured) *snapsync.Kept {
		v, _, _ := unstructured.NestedString(u.Object, "data", "k")
		return &snapsync.Kept{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion(), Path: u.GetName() + ".yaml", Sum: v}
	}
	rv, err := c.ResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	primed := &snapsync.Primed{}
	fresh, err := c.List(ctx, configmaps, snapsync.ListOptions{Namespace: ns, ResourceVersion: rv, Listed: func(rv string) { primed.ResourceVersion, primed.Items = rv, nil }},
		func(u *unstructured.Unstructured) error {
			primed.Items = append(primed.Items, transform(u))
			return nil
		})
	if err != nil || fresh || primed.ResourceVersion != rv || len(primed.Items) != 3 {
		t.Fatalf("List = fresh %v, %v, at %q with %d objects; want 3 objects at %s", fresh, err, primed.ResourceVersion, len(primed.Items), rv)
	}

	// Changes between the snapshot's list and the informer's start.
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "2"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Data: map[string]string{"k": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	before := counter.count()
	events := keptEvents{ch: make(chan string, 64)}
	inf, err := c.Inform(ctx, configmaps, snapsync.InformOptions{Namespace: ns, Transform: transform, Primed: primed}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Stop()
	got := map[string]bool{}
	want := []string{"delete " + ns + "/b 1", "upsert " + ns + "/d"}
	seen := func() bool {
		a, ok := inf.Get(ns, "a")
		if !ok || a.Sum != "2" {
			return false
		}
		for _, w := range want {
			found := false
			for e := range got {
				found = found || strings.HasPrefix(e, w)
			}
			if !found {
				return false
			}
		}
		return true
	}
	deadline := time.After(30 * time.Second)
	for !seen() {
		select {
		case e := <-events.ch:
			got[e] = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the informer missed changes made after its primed list; its handler got %v", got)
		}
	}
	if !inf.HasSynced() {
		t.Error("the informer is not synced")
	}
	if n := counter.count() - before; n != 0 {
		t.Errorf("the primed informer read %d lists of its own, want none", n)
	}
}
