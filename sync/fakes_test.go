package sync

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	gosync "sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The fakes below let the watcher run without a control plane: a cluster
// of ConfigMaps whose informers the test drives, and a store in memory
// whose commits can be made to fail.

var configMaps = canonical.Type{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: []string{"create", "list", "watch"}}

// fakeCluster is an Informers serving ConfigMaps only.
type fakeCluster struct {
	mu        gosync.Mutex
	objects   map[string]*unstructured.Unstructured // namespace/name
	informers []*fakeInformer
	rv        int
	gets      int // objects read again (Get)
	// restoreHeld answers RestoreHeld.
	restoreHeld func() (string, bool, error)
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{objects: map[string]*unstructured.Unstructured{},
		restoreHeld: func() (string, bool, error) { return "", false, nil }}
}

func (c *fakeCluster) Discover(context.Context) (Discovery, error) {
	return Discovery{Types: []canonical.Type{configMaps}, ServerVersion: "v1.37.2"}, nil
}

func (c *fakeCluster) ResourceVersion(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.rv), nil
}

func (c *fakeCluster) List(_ context.Context, _ canonical.Type, opts ListOptions, fn func(*unstructured.Unstructured) error) (bool, error) {
	c.mu.Lock()
	objs := make([]*unstructured.Unstructured, 0, len(c.objects))
	for _, o := range c.objects {
		objs = append(objs, o.DeepCopy())
	}
	rv := fmt.Sprint(c.rv)
	c.mu.Unlock()
	if opts.Listed != nil {
		opts.Listed(rv)
	}
	for _, o := range objs {
		if err := fn(o); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (c *fakeCluster) Inform(_ context.Context, _ canonical.Type, opts InformOptions, h InformHandler) (Informer, error) {
	inf := &fakeInformer{transform: opts.Transform, h: h, kept: map[string]*Kept{}}
	if opts.Primed != nil {
		// Started from the snapshot's list (as internal/kube's informers
		// do); the fake's objects do not change between the two. The
		// handler may read objects again (Get): c.mu is not held.
		inf.primed = len(opts.Primed.Items)
		for _, k := range opts.Primed.Items {
			inf.kept[k.Namespace+"/"+k.Name] = k
			h.Upsert(k)
		}
		c.mu.Lock()
		c.informers = append(c.informers, inf)
		c.mu.Unlock()
		return inf, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, o := range c.objects {
		k := inf.transform(o.DeepCopy())
		inf.kept[key] = k
		h.Upsert(k)
	}
	c.informers = append(c.informers, inf)
	return inf, nil
}

// Get reads one live object, as internal/kube's Cluster.Get does.
func (c *fakeCluster) Get(_ context.Context, _ canonical.Type, namespace, name string) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	o, ok := c.objects[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("%s/%s: not found", namespace, name)
	}
	return o.DeepCopy(), nil
}

func (c *fakeCluster) RestoreHeld(context.Context) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restoreHeld()
}

func (c *fakeCluster) setRestoreHeld(f func() (string, bool, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restoreHeld = f
}

// apply creates or updates the ConfigMap namespace/name holding data, and
// tells the informers.
func (c *fakeCluster) apply(namespace, name string, data map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rv++
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": namespace, "uid": "uid-" + name, "resourceVersion": fmt.Sprint(c.rv)},
		"data":     data,
	}}
	key := namespace + "/" + name
	c.objects[key] = o
	for _, inf := range c.informers {
		k := inf.transform(o.DeepCopy())
		inf.mu.Lock()
		inf.kept[key] = k
		inf.mu.Unlock()
		inf.h.Upsert(k)
	}
}

type fakeInformer struct {
	transform func(*unstructured.Unstructured) *Kept
	h         InformHandler
	primed    int // objects it started with from a primed list
	mu        gosync.Mutex
	kept      map[string]*Kept
}

func (i *fakeInformer) HasSynced() bool { return true }
func (i *fakeInformer) Stop()           {}

func (i *fakeInformer) Get(namespace, name string) (*Kept, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	k, ok := i.kept[namespace+"/"+name]
	return k, ok
}

// fakeStore is a Store in memory; its next failures commits fail.
type fakeStore struct {
	mu       gosync.Mutex
	files    map[string][]byte
	commits  [][]Change
	authors  []string // of each commit; "" for the store's own
	messages []string
	failures int
	// okBeforeFailing commits succeed before the failures begin.
	okBeforeFailing int
}

func newFakeStore() *fakeStore { return &fakeStore{files: map[string][]byte{}} }

var errCommitFailed = errors.New("disk full")

func (s *fakeStore) Files(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.files))
	for p, data := range s.files {
		out[p] = s.BlobID(data)
	}
	return out, nil
}

func (s *fakeStore) BlobID(data []byte) string { return fmt.Sprintf("%x", sha256.Sum256(data)) }

func (s *fakeStore) Read(_ context.Context, path string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[path]
	if !ok {
		return nil, fmt.Errorf("%s: not found", path)
	}
	return data, nil
}

func (s *fakeStore) Commit(ctx context.Context, changes []Change, msg string) (string, error) {
	return s.CommitAs(ctx, changes, msg, Author{})
}

func (s *fakeStore) CommitAs(_ context.Context, changes []Change, msg string, a Author) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 && s.okBeforeFailing == 0 {
		s.failures--
		return "", errCommitFailed
	}
	if s.okBeforeFailing > 0 {
		s.okBeforeFailing--
	}
	for _, c := range changes {
		if c.Op == Deleted {
			delete(s.files, c.Path)
		} else {
			s.files[c.Path] = c.Data
		}
	}
	s.commits = append(s.commits, changes)
	s.authors = append(s.authors, a.Name)
	s.messages = append(s.messages, msg)
	return fmt.Sprint(len(s.commits)), nil
}

func (s *fakeStore) failNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = n
}

func (s *fakeStore) snapshot() (files map[string][]byte, commits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.files), len(s.commits)
}

// fakeObserver tells the test when the watcher is ready and when a
// commit failed, and keeps the objects per type last reported.
type fakeObserver struct {
	nopObserver
	ready        chan struct{}
	commitFailed chan error
	mu           gosync.Mutex
	captured     map[string]int
}

func (o *fakeObserver) Captured(objects map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.captured = maps.Clone(objects)
}

func (o *fakeObserver) objects() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.captured)
}

func newFakeObserver() *fakeObserver {
	return &fakeObserver{ready: make(chan struct{}), commitFailed: make(chan error, 16)}
}

func (o *fakeObserver) Ready()               { close(o.ready) }
func (o *fakeObserver) CommitFailed(e error) { o.commitFailed <- e }

// startWatcher runs a watcher of c into st until the test ends, and
// returns once it is watching.
func startWatcher(t *testing.T, c *fakeCluster, st *fakeStore, opts WatchOptions) *fakeObserver {
	t.Helper()
	obs := newFakeObserver()
	opts.Observer = obs
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- NewWatcher(c, st, opts).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-obs.ready:
	case err := <-done:
		t.Fatalf("Run ended before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher is not ready after 10s")
	}
	return obs
}

// waitFor waits until cond holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
