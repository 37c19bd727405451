package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/audit"
	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// auditEnv is a control plane of its own whose API server posts every
// audit event to a webhook on 127.0.0.1 before it answers the request
// (--audit-webhook-mode=blocking), with the policy deploy/ ships.
type auditEnv struct {
	env     *testenv.Env
	webhook *testenv.AuditWebhook
}

var (
	auditOnce sync.Once
	auditE    *auditEnv
	auditErr  error
)

// auditObjects is how many ConfigMaps the audit control plane holds; the
// latency of one change does not grow with it (BenchmarkWatchLatency).
const auditObjects = 2000

func startAuditEnv(b *testing.B) *auditEnv {
	b.Helper()
	testenv.Require(b, env)
	if err := buildKubesnap(b); err != nil {
		b.Fatal(err)
	}
	auditOnce.Do(func() { auditE, auditErr = newAuditEnv(b) })
	if auditErr != nil {
		b.Fatal(auditErr)
	}
	return auditE
}

func newAuditEnv(b *testing.B) (*auditEnv, error) {
	_, here, _, _ := runtime.Caller(0)
	policy, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "deploy", "audit", "policy.yaml"))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	wh, err := testenv.NewAuditWebhook(scratch(b), addr)
	if err != nil {
		return nil, err
	}
	// In blocking mode the API server's own start-up writes wait for the
	// webhook: the events of the start and of the fill go to a receiver
	// no watcher asks.
	_, stop, err := auditSink(wh)
	if err != nil {
		return nil, err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := testenv.Start(ctx, testenv.Options{AuditPolicy: policy, AuditWebhookKubeconfig: wh.Kubeconfig, ExtraAPIServerArgs: []string{"--audit-webhook-mode=blocking"}})
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		e.Stop()
		return nil, err
	}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "audit-bench"}}, metav1.CreateOptions{}); err != nil {
		e.Stop()
		return nil, err
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var fillErr error
	var mu sync.Mutex
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("obj-%05d", i)}, Data: map[string]string{"v": "0"}}
				if _, err := cs.CoreV1().ConfigMaps("audit-bench").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					fillErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range auditObjects {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if fillErr != nil {
		e.Stop()
		return nil, fillErr
	}
	return &auditEnv{env: e, webhook: wh}, nil
}

// auditSink receives the API server's audit events at the webhook's
// address, as a watcher would, for no one; stop frees the address.
func auditSink(wh *testenv.AuditWebhook) (*audit.Receiver, func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := audit.Listen(ctx, audit.Options{Addr: wh.Addr, CertFile: wh.CertFile, KeyFile: wh.KeyFile, ClientCAFile: wh.ClientCAFile})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return r, func() { cancel(); _ = r.Wait() }, nil
}

// BenchmarkWatchAuditLatency changes one ConfigMap at a time and measures
// until the watcher logs its commit (debounce 0), with audit matching on
// (the watcher receives the events, waits for each change's and authors
// the commit) and off (a receiver in this process takes the events, so
// the API server does the same work). Run it with -count to alternate.
func BenchmarkWatchAuditLatency(b *testing.B) {
	ae := startAuditEnv(b)
	rounds := 3
	if s := os.Getenv("KUBESNAP_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("KUBESNAP_BENCH_ROUNDS=%q: want a number of rounds", s)
		}
		rounds = n
	}
	// Off and on alternate, so that whatever else the machine does
	// weighs on both alike.
	for r := range rounds {
		for _, mode := range []string{"off", "on"} {
			b.Run(fmt.Sprintf("round=%d/audit=%s", r+1, mode), func(b *testing.B) { auditLatency(b, ae, mode == "on") })
		}
	}
}

func auditLatency(b *testing.B, ae *auditEnv, on bool) {
	cs, err := kubernetes.NewForConfig(ae.env.Config)
	if err != nil {
		b.Fatal(err)
	}
	var p *watchProc
	if on {
		wh := ae.webhook
		p = startWatcherWith(b, ae.env.Kubeconfig, "--include-namespaces", "audit-bench", "--audit-listen", wh.Addr, "--audit-tls-cert-file", wh.CertFile, "--audit-tls-key-file", wh.KeyFile, "--audit-client-ca", wh.ClientCAFile)
	} else {
		_, stop, err := auditSink(ae.webhook)
		if err != nil {
			b.Fatal(err)
		}
		defer stop()
		p = startWatcherWith(b, ae.env.Kubeconfig, "--include-namespaces", "audit-bench")
	}
	time.Sleep(time.Second)
	p.drain()
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		for range 200 {
			changeSeq++
			patch := fmt.Appendf(nil, `{"data":{"rev":"%d"}}`, changeSeq)
			start := time.Now()
			if _, err := cs.CoreV1().ConfigMaps("audit-bench").Patch(ctx, fmt.Sprintf("obj-%05d", changeSeq%auditObjects), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
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
	p.stop(b)
	// With audit on, the commits are the user's: the matching ran.
	out, err := exec.Command("git", "-C", p.repo, "log", "-1", "--format=%an").Output()
	if author := strings.TrimSpace(string(out)); err != nil || on != (author != "kubesnap") {
		b.Fatalf("audit %v: the last commit's author is %q (%v)", on, author, err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
