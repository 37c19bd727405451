package sync

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var secrets = canonical.Type{Version: "v1", Resource: "secrets", Kind: "Secret", Namespaced: true, Verbs: []string{"create", "list", "watch"}}

// nonceSealer encrypts as sops does for the test's purpose: every Seal of
// the same bytes gives different bytes.
type nonceSealer struct{}

func (nonceSealer) Seal(plain []byte, _ string) ([]byte, error) {
	return append([]byte("# nonce "+rand.Text()+"\n"), plain...), nil
}
func (nonceSealer) Recipients() []string { return []string{"age1test"} }

func configMap(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": "7"},
		"data":     map[string]any{"k": value},
	}}
}

func secret(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": "7"},
		"data":     map[string]any{"password": value},
	}}
}

// An informer's object is told apart from the branch by its file's blob
// id: the stored bytes again change nothing and keep no bytes; a changed
// byte is a change, its bytes go to the pending set and leave the kept
// object; an encrypted Secret whose values did not change is no change,
// although every encryption gives new bytes.
func TestKeptObjectComparesBlobIDs(t *testing.T) {
	encrypt := Secrets{Mode: SecretsEncrypt, Key: []byte("digest key"), Sealer: nonceSealer{}}
	cases := []struct {
		name    string
		secrets Secrets
		t       canonical.Type
		stored  *unstructured.Unstructured // what the branch holds
		live    *unstructured.Unstructured
		changed bool
	}{
		{"the stored bytes again are no change", Secrets{}, configMaps, configMap("a", "v1"), configMap("a", "v1"), false},
		{"a changed byte is a change", Secrets{}, configMaps, configMap("a", "v1"), configMap("a", "v2"), true},
		{"an object the branch lacks is a change", Secrets{}, configMaps, nil, configMap("a", "v1"), true},
		{"an encrypted Secret with the same values is no change", encrypt, secrets, secret("s", "cGFzcw=="), secret("s", "cGFzcw=="), false},
		{"an encrypted Secret with a changed value is a change", encrypt, secrets, secret("s", "cGFzcw=="), secret("s", "b3RoZXI="), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeStore()
			w := NewWatcher(newFakeCluster(), st, WatchOptions{Snapshot: Options{Secrets: tc.secrets}})
			w.stored = map[string]string{}
			p := canonical.PathOf(tc.t.ID("ns", tc.live.GetName()))
			if tc.stored != nil {
				// As storedFiles reads it: the blob id of the file, or of
				// the redacted form of an encrypted one.
				w.stored[p] = w.keep(tc.t, tc.stored, true).Sum
			}
			k := w.keep(tc.t, tc.live, false)
			if k.Err != "" || k.Skip || k.Path != p {
				t.Fatalf("kept %+v", k)
			}
			if got := k.Data != nil; got != tc.changed {
				t.Errorf("kept bytes: %v, want %v", got, tc.changed)
			}
			if _, need := w.event(tc.t.ResourceDir(), k, false); need {
				t.Fatal("the event asks to read the object again")
			}
			c, pending := w.pending.get(p)
			if pending != tc.changed {
				t.Fatalf("pending: %v, want %v", pending, tc.changed)
			}
			if pending && (len(c.Data) == 0 || c.blob != k.Sum) {
				t.Errorf("pending change %q with blob %s, want the file's bytes and %s", c.Data, c.blob, k.Sum)
			}
			if k.Data != nil {
				t.Errorf("the kept object still holds %d bytes after the event", len(k.Data))
			}
		})
	}
}

// A kept object without bytes whose file the branch no longer holds (the
// branch moved between the transform and the event) is read again from
// the cluster, and its file becomes pending.
func TestKeptObjectWithoutBytesIsReadAgain(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.objects["ns/a"] = configMap("a", "v1")
	w := NewWatcher(c, st, WatchOptions{})
	p := canonical.PathOf(configMaps.ID("ns", "a"))
	w.stored = map[string]string{}
	w.stored[p] = w.keep(configMaps, configMap("a", "v1"), true).Sum
	k := w.keep(configMaps, configMap("a", "v1"), false)
	if k.Data != nil {
		t.Fatal("the transform kept the bytes of an unchanged object")
	}
	w.stored[p] = "another blob" // a commit moved the branch meanwhile
	(&handler{w: w, t: configMaps, dir: configMaps.ResourceDir()}).Upsert(k)
	ch, ok := w.pending.get(p)
	if !ok || ch.blob != k.Sum || !containsLine(string(ch.Data), `k: v1`) {
		t.Errorf("pending %s = %q (blob %s), %v; want the object read again", p, ch.Data, ch.blob, ok)
	}
}

// A watcher that did not run while an object changed commits the change
// when it starts again: it begins with a full capture.
func TestRestartedWatcherCommitsWhatChangedMeanwhile(t *testing.T) {
	c, st := newFakeCluster(), newFakeStore()
	c.apply("ns", "a", map[string]any{"k": "1"})
	stop := startStoppable(t, c, st)
	stop()
	c.mu.Lock()
	c.informers = nil // the first watcher's informers are gone
	c.mu.Unlock()
	c.apply("ns", "a", map[string]any{"k": "2"})
	c.apply("ns", "b", map[string]any{"k": "3"})
	if files, _ := st.snapshot(); !containsLine(string(files[pathA]), `k: "1"`) {
		t.Fatalf("%s before the restart holds\n%s", pathA, files[pathA])
	}
	startWatcher(t, c, st, WatchOptions{})
	files, _ := st.snapshot()
	if !containsLine(string(files[pathA]), `k: "2"`) || !containsLine(string(files["namespaces/ns/configmaps/b.yaml"]), `k: "3"`) {
		t.Errorf("after the restart: %s holds\n%s\nb.yaml holds\n%s", pathA, files[pathA], files["namespaces/ns/configmaps/b.yaml"])
	}
}

// startStoppable runs a watcher of c into st until it is ready and
// returns the function that stops it.
func startStoppable(t *testing.T, c *fakeCluster, st *fakeStore) (stop func()) {
	t.Helper()
	obs := newFakeObserver()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- NewWatcher(c, st, WatchOptions{Observer: obs}).Run(ctx) }()
	<-obs.ready
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// A kept object that cannot be read again (gone from the cluster since)
// changes nothing and says so in one line naming its file; its delete
// event follows.
func TestKeptObjectThatCannotBeReadAgainIsLogged(t *testing.T) {
	var log bytes.Buffer
	c, st := newFakeCluster(), newFakeStore()
	w := NewWatcher(c, st, WatchOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	p := canonical.PathOf(configMaps.ID("ns", "a"))
	w.stored = map[string]string{p: "another blob"}
	k := &Kept{Namespace: "ns", Name: "a", ResourceVersion: "7", Path: p, Sum: "a blob whose bytes are gone"}
	(&handler{w: w, t: configMaps, dir: configMaps.ResourceDir()}).Upsert(k)
	if _, ok := w.pending.get(p); ok {
		t.Error("a change is pending without the object's bytes")
	}
	if got := log.String(); !strings.Contains(got, "cannot read object again") || !strings.Contains(got, p) {
		t.Errorf("log:\n%s\nwant a line naming %s", got, p)
	}
}
