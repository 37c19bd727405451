package bench

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/testenv"
	snapsync "github.com/kubesnap/kubesnap/sync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// restoreFilter is the scope both sides of BenchmarkRestore apply: Secrets
// are stored redacted, so restore skips them and kubectl would apply the
// redacted values; neither gets them.
var restoreFilter = []string{"--exclude-resources", "secrets"}

// restoreRepo is the repository both sides of BenchmarkRestore restore.
type restoreRepo struct {
	dir     string
	objects int
	want    map[string]int  // object files per resource dir
	files   map[string]bool // paths of the object files
}

// makeRestoreRepo snapshots the benchmark's part of the cluster into a
// repository with a worktree: the bench CRD, then the bench namespaces
// without their Secrets (two snapshots into one repository: a namespace
// filter leaves cluster-scoped types out).
func makeRestoreRepo(b *testing.B) *restoreRepo {
	b.Helper()
	r := &restoreRepo{dir: filepath.Join(scratch(b), "repo"), want: map[string]int{}, files: map[string]bool{}}
	repo, err := gitstore.Open(r.dir, gitstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ns := make([]string, namespaces)
	for i := range ns {
		ns[i] = nsName(i)
	}
	c := cluster(b)
	for _, f := range []canonical.Filter{
		{IncludeResources: []string{"customresourcedefinitions.apiextensions.k8s.io"}},
		{IncludeNamespaces: ns, ExcludeResources: []string{"secrets"}},
	} {
		if _, err := snapsync.Snapshot(context.Background(), c, repo, snapsync.Options{Filter: f}); err != nil {
			b.Fatal(err)
		}
	}
	for _, top := range []string{"cluster", "namespaces"} {
		err := filepath.WalkDir(filepath.Join(r.dir, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(r.dir, p)
			id, err := canonical.ParsePath(filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			r.want[id.ResourceDir()]++
			r.files[filepath.ToSlash(rel)] = true
			r.objects++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	syscall.Sync() // the setup's writeback stays out of the timings
	return r
}

// restoreTarget starts an empty control plane (with a controller-manager,
// as a real cluster has) and waits until the controller-manager made the
// default ServiceAccount, so that its start-up is not timed.
func restoreTarget(b *testing.B) *testenv.Env {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := testenv.Start(ctx, testenv.Options{ControllerManager: true})
	if err != nil {
		b.Fatal(err)
	}
	cs := e.Client(b)
	for {
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			e.Stop()
			b.Fatal("the new control plane's controller-manager made no default ServiceAccount in 3 minutes")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return e
}

// check checks that every object file of the repository is live on the
// target.
func (r *restoreRepo) check(b *testing.B, e *testenv.Env) {
	b.Helper()
	dyn, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		b.Fatal(err)
	}
	gvr := map[string]schema.GroupVersionResource{
		"customresourcedefinitions.apiextensions.k8s.io": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
		"namespaces":                {Version: "v1", Resource: "namespaces"},
		"serviceaccounts":           {Version: "v1", Resource: "serviceaccounts"},
		"configmaps":                {Version: "v1", Resource: "configmaps"},
		"services":                  {Version: "v1", Resource: "services"},
		"deployments.apps":          {Group: "apps", Version: "v1", Resource: "deployments"},
		"widgets.bench.kubesnap.io": widgets,
	}
	for dir, want := range r.want {
		res, ok := gvr[dir]
		if !ok {
			b.Fatalf("the repository holds %s, which the benchmark does not check", dir)
		}
		list, err := dyn.Resource(res).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, o := range list.Items {
			id := canonical.ID{Group: res.Group, Resource: res.Resource, Namespace: o.GetNamespace(), Name: o.GetName()}
			if r.files[canonical.PathOf(id)] {
				got++
			}
		}
		if got != want {
			b.Fatalf("%s: %d of the repository's %d objects are on the target", dir, got, want)
		}
	}
}

// BenchmarkRestore restores the benchmark's namespaces and CRD (Secrets
// left out) into an empty control plane: the kubesnap binary against what
// a user does with kubectl and the same checkout. Starting and stopping
// the control planes is not timed, and nothing is timed before the
// benchmark cluster's controller-manager is done with what fill made.
func BenchmarkRestore(b *testing.B) {
	fill(b)
	r := makeRestoreRepo(b)
	settled(b)
	repo, total := r.dir, r.objects
	b.Logf("repository: %d objects %v", total, r.want)
	// Wall time per restore of each side, for the ratio.
	var kubesnapTime, kubectlTime time.Duration

	// KUBESNAP_BENCH_RESTORE_ARGS adds flags (--workers 32) to try them.
	extra := strings.Fields(os.Getenv("KUBESNAP_BENCH_RESTORE_ARGS"))
	b.Run("kubesnap", func(b *testing.B) {
		var peak float64
		var cpu time.Duration
		kubesnapTime = 0
		for b.Loop() {
			b.StopTimer()
			target := restoreTarget(b)
			args := append([]string{"restore", "--repo", repo, "--rev", "HEAD", "--kubeconfig", target.Kubeconfig}, restoreFilter...)
			cmd := exec.Command(kubesnap, append(args, extra...)...)
			start := time.Now()
			b.StartTimer()
			out, rss, err := runMeasured(cmd)
			b.StopTimer()
			kubesnapTime += time.Since(start)
			b.Logf("kubesnap restore: %.1f s, %.1f s CPU", time.Since(start).Seconds(), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
			if err != nil {
				target.Stop()
				b.Fatalf("kubesnap restore: %v\n%s", err, tail(out, 20))
			}
			peak = max(peak, rss)
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			r.check(b, target)
			target.Stop()
			b.StartTimer()
		}
		kubesnapTime /= time.Duration(b.N)
		b.ReportMetric(peak, "peak-MiB")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
		b.ReportMetric(float64(total), "objects")
	})

	// kubectl cannot apply the whole checkout in one go: it maps every
	// file to a type before it applies any, so one apply -R applies all
	// but the Widgets, whose CRD it has just created, and fails (and
	// .kubesnap/coverage.txt is no object). A user applies cluster/ (the
	// CRD and the Namespaces), waits for the CRD, then applies
	// namespaces/.
	b.Run("kubectl", func(b *testing.B) {
		var peak float64
		var cpu time.Duration
		var steps [3]time.Duration
		kubectlTime = 0
		for b.Loop() {
			b.StopTimer()
			target := restoreTarget(b)
			cache := scratch(b) // kubectl's discovery cache, new as a user's
			kubectl := func(args ...string) *exec.Cmd {
				return exec.Command(testenv.Binary("kubectl"), append([]string{"--kubeconfig", target.Kubeconfig, "--cache-dir", cache}, args...)...)
			}
			cmds := []*exec.Cmd{
				kubectl("apply", "--server-side", "-R", "-f", filepath.Join(repo, "cluster")),
				kubectl("wait", "--for", "condition=established", "--timeout", "60s", "crd", "--all"),
				kubectl("apply", "--server-side", "-R", "-f", filepath.Join(repo, "namespaces")),
			}
			start := time.Now()
			b.StartTimer()
			for i, cmd := range cmds {
				s := time.Now()
				out, rss, err := runMeasured(cmd)
				steps[i] += time.Since(s)
				if err != nil {
					b.StopTimer()
					target.Stop()
					b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args[3:], " "), err, tail(out, 20))
				}
				peak = max(peak, rss)
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.StopTimer()
			kubectlTime += time.Since(start)
			b.Logf("kubectl, 3 steps: %.1f s", time.Since(start).Seconds())
			r.check(b, target)
			target.Stop()
			b.StartTimer()
		}
		n := float64(b.N)
		kubectlTime /= time.Duration(b.N)
		if kubesnapTime > 0 {
			// How many times as fast kubesnap restored (target: ≥ 2).
			b.ReportMetric(kubectlTime.Seconds()/kubesnapTime.Seconds(), "kubesnap-speedup")
		}
		b.ReportMetric(steps[0].Seconds()/n, "cluster-s")
		b.ReportMetric(steps[1].Seconds()/n, "wait-s")
		b.ReportMetric(steps[2].Seconds()/n, "namespaces-s")
		b.ReportMetric(peak, "peak-MiB")
		b.ReportMetric(cpu.Seconds()/n, "cpu-s")
		b.ReportMetric(float64(total), "objects")
	})
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// settled waits until the benchmark cluster's controller-manager is done
// with the Deployments fill made (their ReplicaSets made and both
// observed), so that its work does not slow the restores timed after it.
func settled(b *testing.B) {
	b.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	replicaSets := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	observed := func(res schema.GroupVersionResource) (n int, all bool) {
		list, err := dyn.Resource(res).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		all = true
		for _, o := range list.Items {
			g, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
			all = all && g >= o.GetGeneration()
		}
		return len(list.Items), all
	}
	start := time.Now()
	for {
		d, dOK := observed(deployments)
		rs, rsOK := observed(replicaSets)
		if dOK && rsOK && rs >= d {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("the benchmark cluster's controller-manager did not settle in 10 minutes: %d Deployments, %d ReplicaSets", d, rs)
		}
		time.Sleep(2 * time.Second)
	}
	b.Logf("the benchmark cluster's controller-manager settled in %s", time.Since(start).Round(time.Second))
}
