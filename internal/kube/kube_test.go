package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	snapsync "github.com/kubesnap/kubesnap/sync"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.Options{}, &env))
}

var configmaps = canonical.Type{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: []string{"list", "watch", "create"}}

func connect(t *testing.T) *Cluster {
	t.Helper()
	c, err := New(env.Config, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fillConfigMaps creates n ConfigMaps in ns, 16 at a time.
func fillConfigMaps(t *testing.T, ns string, n int) {
	t.Helper()
	cs := env.Client(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				_, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i)}}, metav1.CreateOptions{})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func TestListPagesAtOneResourceVersion(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	const n = PageSize + 20
	fillConfigMaps(t, ns, n)
	c := connect(t)
	ctx := t.Context()
	rv, err := c.ResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Objects created after the cut must not be in a list at the cut.
	fillLater := env.Client(t)
	if _, err := fillLater.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-the-cut"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fresh, err := c.List(ctx, configmaps, snapsync.ListOptions{Namespace: ns, ResourceVersion: rv}, func(o *unstructured.Unstructured) error {
		if seen[o.GetName()] {
			t.Errorf("%s listed twice", o.GetName())
		}
		seen[o.GetName()] = true
		return nil
	})
	if err != nil || fresh {
		t.Fatalf("List = fresh %v, %v; want an exact list", fresh, err)
	}
	if len(seen) != n {
		t.Errorf("listed %d objects over pages of %d, want %d", len(seen), PageSize, n)
	}
	if seen["after-the-cut"] {
		t.Error("an object created after the resourceVersion was listed")
	}
}

// A type whose whole exact list outlasts ExactTimeout is still listed at
// the version asked for: the bound is on the first page only. Before, the
// largest types of a 100,000-object cluster ran past it and were listed
// twice, the second time fresh.
func TestListAtAVersionOutlastingExactTimeoutStaysExact(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	const n = 3 * PageSize
	fillConfigMaps(t, ns, n)
	c := connect(t)
	c.ExactTimeout = 2 * time.Second
	rv, err := c.ResourceVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	fresh, err := c.List(t.Context(), configmaps, snapsync.ListOptions{Namespace: ns, ResourceVersion: rv}, func(*unstructured.Unstructured) error {
		count++
		if count == PageSize {
			time.Sleep(c.ExactTimeout + time.Second) // the rest of the list comes after the bound
		}
		return nil
	})
	if err != nil || fresh {
		t.Fatalf("List = fresh %v, %v; want an exact list past ExactTimeout", fresh, err)
	}
	if count != n {
		t.Errorf("listed %d objects, want %d (each once)", count, n)
	}
}

func TestListFallsBackToAFreshListWhenTheVersionCannotBeServed(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	fillConfigMaps(t, ns, 3)
	c := connect(t)
	c.ExactTimeout = 2 * time.Second
	rv, err := c.ResourceVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(rv, 10, 64)
	future := strconv.FormatUint(n+1_000_000, 10) // the server refuses: too large
	count := 0
	fresh, err := c.List(t.Context(), configmaps, snapsync.ListOptions{Namespace: ns, ResourceVersion: future}, func(*unstructured.Unstructured) error {
		count++
		return nil
	})
	if err != nil || !fresh {
		t.Fatalf("List at an unservable version = fresh %v, %v; want a fresh list", fresh, err)
	}
	if count != 3 {
		t.Errorf("fresh list gave %d objects, want 3", count)
	}
}

func TestListForbiddenWrapsErrForbidden(t *testing.T) {
	testenv.Require(t, env)
	cfg, err := clientConfig(env.LimitedKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, "limited")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(t.Context(), configmaps, snapsync.ListOptions{}, func(*unstructured.Unstructured) error { return nil })
	if !isForbidden(err) {
		t.Errorf("List as a user without rights = %v, want ErrForbidden", err)
	}
}

func clientConfig(kubeconfig string) (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}

func isForbidden(err error) bool { return errors.Is(err, snapsync.ErrForbidden) }
