package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
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
	rss     func() float64 // stops sampling and returns the peak RSS
	// startup is the time from the start to watching: the first capture
	// of the whole cluster, committed, and the informers synced.
	startup time.Duration
}

// watchStartTimeout bounds the watcher's first capture: at 100,000
// objects it took about a minute, and three times as many objects on a
// machine shared with other work may take several.
const watchStartTimeout = 30 * time.Minute

// startWatcher runs `kubesnap watch --debounce 0` over the benchmark
// cluster, with a configuration file of that many normalization rules
// (rulesConfig), and waits until the first capture is committed and
// informers are synced.
func startWatcher(b *testing.B, rules int) *watchProc {
	b.Helper()
	return startWatcherWith(b, env.Kubeconfig, "--config", rulesConfig(b, rules))
}

// startWatcherWith is startWatcher against the cluster of kubeconfig,
// with more flags.
func startWatcherWith(b *testing.B, kubeconfig string, flags ...string) *watchProc {
	b.Helper()
	repo := filepath.Join(scratch(b), "repo")
	cmd := exec.Command(kubesnap, append([]string{"watch", "--repo", repo, "--kubeconfig", kubeconfig, "--listen", "", "--debounce", "0s", "--max-delay", "0s"}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &watchProc{repo: repo, cmd: cmd, commits: make(chan time.Time, 100000), done: make(chan struct{}), rss: sampleRSS(cmd.Process.Pid)}
	watching := make(chan struct{})
	var last []string // the log's last lines, read once done is closed
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			last = append(last[max(0, len(last)-19):], line)
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
		p.startup = time.Since(started)
	case <-p.done:
		b.Fatalf("kubesnap watch exited before watching:\n%s", strings.Join(last, "\n"))
	case <-time.After(watchStartTimeout):
		b.Fatalf("kubesnap watch did not start within %s", watchStartTimeout)
	}
	return p
}

// stop ends the watcher with SIGTERM and returns its peak RSS in MiB.
func (p *watchProc) stop(b *testing.B) float64 {
	b.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	err := p.cmd.Wait()
	rss := p.rss()
	if err != nil {
		b.Fatalf("kubesnap watch: %v", err)
	}
	return rss
}

// rulesConfig writes a configuration file with n normalization rules
// (n is 0 or 20) and returns its path. Of the 20, as a production file
// might have them, six select the ConfigMaps the benchmarks change (by
// kind, namespace glob, name glob, selector; by path and by manager) and
// remove fields they do not have, so every object is stored as without
// rules; the other 14 select kinds the benchmark cluster has few of.
func rulesConfig(b *testing.B, n int) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("apiVersion: kubesnap.io/v1alpha1\nkind: Config\nnormalize:\n")
	if n > 0 {
		sb.WriteString(`  - {name: cm-path, match: {kind: ConfigMap}, ignoreFields: ["data.injected"]}
  - {name: cm-ns, match: {kind: ConfigMap, namespaces: ["bench-*"]}, ignoreFields: ['metadata.annotations["mesh.example.com/status"]']}
  - {name: cm-names, match: {group: core, names: ["obj-*"]}, ignoreFields: ["/metadata/labels/operator.example.com~1stamp"]}
  - {name: cm-selector, match: {kind: ConfigMap, labelSelector: "!never"}, ignoreFields: ["binaryData[*].x"]}
  - {name: cm-manager, match: {kind: ConfigMap}, ignoreManagers: [mesh-operator]}
  - {name: any-manager, ignoreManagers: ["cainjector*"]}
  - {name: hpa, match: {group: apps, kind: StatefulSet}, ignoreFields: [spec.replicas]}
  - {name: webhooks, match: {group: admissionregistration.k8s.io, kind: "*WebhookConfiguration"}, ignoreFields: ["webhooks[*].clientConfig.caBundle"]}
  - {name: crds, match: {group: apiextensions.k8s.io}, ignoreManagers: [cainjector]}
  - {name: apiservices, match: {kind: APIService}, ignoreFields: [spec.caBundle]}
  - {name: istio, match: {group: networking.istio.io}, ignoreFields: ['metadata.annotations["sidecar.istio.io/status"]']}
  - {name: jobs, match: {group: batch, kind: Job}, ignoreFields: [spec.suspend]}
  - {name: ds, match: {group: apps, kind: DaemonSet}, ignoreFields: ['spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]']}
  - {name: pdb, match: {kind: PodDisruptionBudget}, ignoreManagers: [pdb-operator]}
  - {name: ingress, match: {group: networking.k8s.io, kind: Ingress}, ignoreFields: ['metadata.annotations["ingress.kubernetes.io/backends"]']}
  - {name: svc-team, match: {kind: Service, namespaces: ["team-*"]}, ignoreFields: [spec.externalIPs]}
  - {name: secrets-op, match: {kind: Secret, names: ["*-tls"]}, ignoreManagers: [cert-manager*]}
  - {name: nodes, match: {kind: Node}, ignoreFields: [spec.podCIDR]}
  - {name: pv, match: {kind: PersistentVolume}, ignoreFields: [spec.claimRef]}
  - {name: sa, match: {kind: ServiceAccount, namespaces: ["team-*"]}, ignoreFields: [imagePullSecrets]}
`)
	}
	p := filepath.Join(scratch(b), "kubesnap.yaml")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
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

// changeSeq numbers the changes the watch benchmarks make, across their
// sub-benchmarks, so that no change writes a value the object has.
var changeSeq int

// BenchmarkWatchLatency changes one object at a time in a cluster of 10k
// captured objects and measures until the watcher logs its commit
// (debounce 0). It reports p50 and p99 over all changes, and the
// watcher's peak RSS.
func BenchmarkWatchLatency(b *testing.B) {
	fill(b)
	for _, rules := range []int{0, 20} {
		b.Run(fmt.Sprintf("rules=%d", rules), func(b *testing.B) { watchLatency(b, rules) })
	}
}

func watchLatency(b *testing.B, rules int) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	floor := measureListFloor(b, cluster(b))
	p := startWatcher(b, rules)
	time.Sleep(2 * time.Second) // let late controller writes settle
	p.drain()
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		for range 200 {
			changeSeq++
			patch := fmt.Appendf(nil, `{"data":{"rev":"%d"}}`, changeSeq)
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
	cpu := p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
	b.ReportMetric(cpu.Seconds(), "watcher-cpu-s")
	b.ReportMetric(p.startup.Seconds(), "startup-s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(rss, "peak-MiB")
	floor.report(b, "ready", p.startup)
}

// BenchmarkWatchThroughput sends 2,000 changes from 16 clients as fast as
// the API server takes them and measures until the last one is committed.
func BenchmarkWatchThroughput(b *testing.B) {
	fill(b)
	for _, rules := range []int{0, 20} {
		b.Run(fmt.Sprintf("rules=%d", rules), func(b *testing.B) { watchThroughput(b, rules) })
	}
}

func watchThroughput(b *testing.B, rules int) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	p := startWatcher(b, rules)
	ctx := context.Background()
	const changes = 2000
	rounds := 0
	var total time.Duration
	for b.Loop() {
		rounds++
		changeSeq++ // every round writes new values, in every sub-benchmark
		round := changeSeq
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
	b.ReportMetric(float64(changes*rounds)/total.Seconds(), "changes/s")
}
