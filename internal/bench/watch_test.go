package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// watchProc is the kubesnap binary running watch, with a channel that
// gets the time of every commit it logs.
type watchProc struct {
	repo    string
	cmd     *exec.Cmd
	commits chan time.Time
	done    chan struct{}
}

// startWatcher runs `kubesnap watch --debounce 0` over the benchmark
// cluster and waits until the first capture is committed and informers
// are synced.
func startWatcher(b *testing.B) *watchProc {
	b.Helper()
	repo := filepath.Join(b.TempDir(), "repo")
	cmd := exec.Command(kubesnap, "watch", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--listen", "", "--debounce", "0s", "--max-delay", "0s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &watchProc{repo: repo, cmd: cmd, commits: make(chan time.Time, 100000), done: make(chan struct{})}
	watching := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.Contains(line, "msg=committed"):
				p.commits <- time.Now()
			case strings.Contains(line, "msg=watching"):
				once.Do(func() { close(watching) })
			case strings.Contains(line, "level=ERROR"):
				b.Log(line)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case <-watching:
	case <-p.done:
		b.Fatal("kubesnap watch exited before watching")
	case <-time.After(5 * time.Minute):
		b.Fatal("kubesnap watch did not start within 5 minutes")
	}
	return p
}

// stop ends the watcher with SIGTERM and returns its peak RSS in MiB.
func (p *watchProc) stop(b *testing.B) float64 {
	b.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		b.Fatalf("kubesnap watch: %v", err)
	}
	ru, _ := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(ru.Maxrss) / 1024
}

// drain forgets commits logged so far.
func (p *watchProc) drain() {
	for {
		select {
		case <-p.commits:
		default:
			return
		}
	}
}

// BenchmarkWatchLatency changes one object at a time in a cluster of 10k
// captured objects and measures until the watcher logs its commit
// (debounce 0). It reports p50 and p99 over all changes, and the
// watcher's peak RSS.
func BenchmarkWatchLatency(b *testing.B) {
	fill(b)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	p := startWatcher(b)
	time.Sleep(2 * time.Second) // let late controller writes settle
	p.drain()
	ctx := context.Background()
	var lat []time.Duration
	rev := 0
	for b.Loop() {
		for range 200 {
			rev++
			patch := fmt.Appendf(nil, `{"data":{"rev":"%d"}}`, rev)
			start := time.Now()
			if _, err := cs.CoreV1().ConfigMaps(nsName(0)).Patch(ctx, "obj-00000", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-p.commits:
				lat = append(lat, at.Sub(start))
			case <-time.After(time.Minute):
				b.Fatal("no commit within a minute of a change")
			}
		}
	}
	b.StopTimer()
	rss := p.stop(b)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(rss, "peak-MiB")
}

// BenchmarkWatchThroughput sends 2,000 changes from 16 clients as fast as
// the API server takes them and measures until the last one is committed.
func BenchmarkWatchThroughput(b *testing.B) {
	fill(b)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	p := startWatcher(b)
	ctx := context.Background()
	const changes = 2000
	round := 0
	var total time.Duration
	for b.Loop() {
		round++
		start := time.Now()
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for i := range jobs {
					// ConfigMaps are objects 0, 1, 2 of every 10.
					obj := i/3*10 + i%3
					patch := fmt.Appendf(nil, `{"data":{"round":"%d"}}`, round)
					if _, err := cs.CoreV1().ConfigMaps(nsName(obj%namespaces)).Patch(ctx, fmt.Sprintf("obj-%05d", obj), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range changes {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		sent := time.Since(start)
		// A sentinel after every change: once it is committed, all are.
		sentinel := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sentinel-%d", round), Namespace: nsName(0)}}
		p.drain()
		if _, err := cs.CoreV1().ConfigMaps(nsName(0)).Create(ctx, sentinel, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case <-p.commits:
			case <-time.After(time.Minute):
				b.Fatal("no commit within a minute")
			}
			path := fmt.Sprintf("HEAD:namespaces/%s/configmaps/%s.yaml", nsName(0), sentinel.Name)
			if exec.Command("git", "-C", p.repo, "cat-file", "-e", path).Run() == nil {
				break
			}
		}
		total += time.Since(start)
		b.Logf("round %d: sent %d changes in %s, all committed after %s", round, changes, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	b.StopTimer()
	p.stop(b)
	b.ReportMetric(float64(changes*round)/total.Seconds(), "changes/s")
}
