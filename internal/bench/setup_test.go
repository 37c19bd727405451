package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var (
	env      *testenv.Env
	kubesnap string // the kubesnap binary, for peak RSS of a whole run
	objects  int    // how many objects the cluster was filled with
)

const namespaces = 50

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run()) // go test ./... : no benchmarks, no control plane
	}
	code := testenv.Main(m, testenv.Options{ControllerManager: true}, &env)
	if auditE != nil {
		auditE.env.Stop()
	}
	if scratchRoot != "" {
		if err := os.RemoveAll(scratchRoot); err != nil {
			fmt.Fprintf(os.Stderr, "remove %s: %v\n", scratchRoot, err)
		}
	}
	os.Exit(code)
}

var (
	scratchOnce sync.Once
	scratchRoot string
	scratchErr  error
)

// scratch returns a new empty folder that lives until the process ends,
// where b.TempDir's is removed when the benchmark ends. On ext4 without a
// journal (this machine's), creating a file skips past every inode deleted
// in the last 60 to 360 seconds, reading each one's inode table block:
// after a benchmark removed the files of a repository, creating as many
// new ones takes much longer (BENCHMARKS.md; perf: recently_deleted under
// ext4_create). The benchmarks remove nothing until they are all done, so
// none of them pays for another's cleanup.
func scratch(b *testing.B) string {
	b.Helper()
	scratchOnce.Do(func() { scratchRoot, scratchErr = os.MkdirTemp("", "kubesnap-bench-") })
	if scratchErr != nil {
		b.Fatal(scratchErr)
	}
	dir, err := os.MkdirTemp(scratchRoot, "")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// runMeasured runs cmd as cmd.CombinedOutput does (stdout and stderr
// that cmd does not send elsewhere are returned) and also returns the
// child's own peak RSS in MiB (VmHWM in /proc/PID/status, sampled every
// 10 ms until it exits). The rusage os/exec gives cannot be used: Go
// starts a child with CLONE_VM, so at exec the kernel takes the parent's
// peak RSS as the child's too (BENCHMARKS.md), and every figure was at
// least the benchmark process's own. A peak in the last 10 ms of a run would be missed.
func runMeasured(cmd *exec.Cmd) (out []byte, peakMiB float64, err error) {
	var buf bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &buf
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &buf
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	stop := sampleRSS(cmd.Process.Pid)
	err = cmd.Wait()
	return buf.Bytes(), stop(), err
}

// sampleRSS samples the peak RSS of process pid until the returned
// function is called, which returns it in MiB.
func sampleRSS(pid int) func() float64 {
	done := make(chan struct{})
	var peak atomic.Int64 // KiB
	var wg sync.WaitGroup
	wg.Go(func() {
		status := fmt.Sprintf("/proc/%d/status", pid)
		for {
			if data, err := os.ReadFile(status); err == nil {
				for line := range strings.Lines(string(data)) {
					if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" { // VmHWM: 123456 kB
						if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > peak.Load() {
							peak.Store(kb)
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / 1024
	}
}

var (
	fillOnce sync.Once
	// fillTime is how long creating the objects took.
	fillTime time.Duration
	// cheap is set by KUBESNAP_BENCH_CHEAP=1 (make bench-scale): see create.
	cheap bool
)

// fill creates the benchmark cluster once per process: ConfigMaps, Secrets,
// Deployments (0 replicas), Services and custom resources spread over 50
// namespaces (or, cheap, mostly small ConfigMaps), created by many clients
// at once.
func fill(b *testing.B) {
	b.Helper()
	testenv.Require(b, env)
	var err error
	fillOnce.Do(func() { err = doFill(b) })
	if err != nil {
		b.Fatal(err)
	}
}

var widgets = schema.GroupVersionResource{Group: "bench.kubesnap.io", Version: "v1", Resource: "widgets"}

// fillClients is how many clients create the objects at once: enough to
// keep the API server and etcd busy on two cores, where 32 left them
// waiting on round trips.
const fillClients = 64

var (
	buildOnce sync.Once
	buildErr  error
)

// buildKubesnap builds the kubesnap binary the benchmarks run, once.
func buildKubesnap(b *testing.B) error {
	buildOnce.Do(func() {
		kubesnap = filepath.Join(scratch(b), "kubesnap")
		if out, err := exec.Command("go", "build", "-o", kubesnap, "../../cmd/kubesnap").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build kubesnap: %v\n%s", err, out)
		}
	})
	return buildErr
}

func doFill(b *testing.B) error {
	objects = 10000
	if s := os.Getenv("KUBESNAP_BENCH_OBJECTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			return fmt.Errorf("KUBESNAP_BENCH_OBJECTS=%q: want a number of objects, at least 10", s)
		}
		objects = n
	}
	switch s := os.Getenv("KUBESNAP_BENCH_CHEAP"); s {
	case "", "0":
	case "1":
		cheap = true
	default:
		return fmt.Errorf("KUBESNAP_BENCH_CHEAP=%q: want 1 or nothing", s)
	}
	if err := buildKubesnap(b); err != nil {
		return err
	}
	env.Kubectl(b, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.bench.kubesnap.io}
spec:
  group: bench.kubesnap.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, "apply", "-f", "-")
	env.Kubectl(b, "", "wait", "--for", "condition=established", "crd/widgets.bench.kubesnap.io")
	// No client-side rate limit (a negative QPS turns client-go's off):
	// the fill is as fast as the API server takes it.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	start := time.Now()
	jobs := make(chan int)
	errs := make(chan error, fillClients)
	var wg sync.WaitGroup
	for range fillClients {
		wg.Go(func() {
			for i := range jobs {
				if err := create(ctx, cs, dyn, i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range objects {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fillTime = time.Since(start)
	b.Logf("created %d objects (cheap=%v) in %d namespaces in %s (%.0f/s) with %d clients", objects, cheap, namespaces,
		fillTime.Round(time.Second), float64(objects)/fillTime.Seconds(), fillClients)
	// Let the controller-manager make its ReplicaSets before measuring.
	time.Sleep(10 * time.Second)
	return nil
}

func nsName(i int) string { return fmt.Sprintf("bench-%02d", i) }

// create makes object i: the kinds take turns, so every namespace holds
// every kind. Objects 0, 1 and 2 of every 10 are ConfigMaps either way
// (the watch and diff benchmarks change those). Cheap, objects 3 to 7 are
// small ConfigMaps too, 8 a Secret and 9 a Widget: no Deployments (whose
// ReplicaSets the controller-manager would add) and no Services (whose
// ClusterIPs a /16 holds 65,000 of).
func create(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, i int) error {
	ns := nsName(i % namespaces)
	name := fmt.Sprintf("obj-%05d", i)
	labels := map[string]string{"app": name, "tier": "bench"}
	kind := i % 10
	if cheap {
		kind = [10]int{0, 1, 2, 0, 0, 0, 0, 0, 3, 9}[kind]
	}
	var err error
	switch kind {
	case 0, 1, 2:
		_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Data:       map[string]string{"config.yaml": fmt.Sprintf("replicas: %d\nlog: info\nendpoint: http://svc-%d.%s:8080\n", i%7, i, ns)},
		}, metav1.CreateOptions{})
	case 3, 4:
		_, err = cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			StringData: map[string]string{"password": fmt.Sprintf("bench-secret-%d", i)},
		}, metav1.CreateOptions{})
	case 5, 6:
		zero := int32(0)
		_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &zero,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "registry.example/app:1.0",
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					}}},
				},
			},
		}, metav1.CreateOptions{})
	case 7, 8:
		_, err = cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}, metav1.CreateOptions{})
	default:
		_, err = dyn.Resource(widgets).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "bench.kubesnap.io/v1", "kind": "Widget",
			"metadata": map[string]any{"name": name, "labels": map[string]any{"app": name}},
			"spec":     map[string]any{"size": int64(i), "color": "blue"},
		}}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create %s/%s: %w", ns, name, err)
	}
	return nil
}
