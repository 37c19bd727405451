package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bareHTTPRemote makes a bare repository that refuses non-fast-forward
// pushes and serves it over git http-backend; it returns its folder and
// URL, and sets the token in KUBESNAP_TEST_GIT_TOKEN for --git-token-env.
func bareHTTPRemote(t *testing.T) (dir, url string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "remote.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	git(t, dir, "config", "receive.denyNonFastForwards", "true")
	git(t, dir, "config", "http.receivepack", "true")
	const token = "fleet-Zq7-token"
	t.Setenv("KUBESNAP_TEST_GIT_TOKEN", token)
	return dir, testenv.GitHTTP(t, root, "kubesnap", token).URL + "/remote.git"
}

// httpRemoteArgs are the watch flags for a remote made by bareHTTPRemote.
func httpRemoteArgs(url string) []string {
	return []string{"--remote", url, "--git-token-env", "KUBESNAP_TEST_GIT_TOKEN", "--git-username", "kubesnap"}
}

// freeAddr returns a 127.0.0.1 address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// httpGet returns the status and body of http://addr+path.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// metric returns the value of an unlabelled metric from /metrics.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	_, body := httpGet(t, addr, "/metrics")
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the metrics:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Three clusters' watchers push to one remote at once (here three
// namespaces of one control plane, each watcher scoped to its own, under
// --path clusters/cN), racing each other for every push. Whatever races
// they lose, each folder on the remote ends equal to its cluster and the
// remote is sound. A watcher that lost a race and committed again meanwhile
// failed every later push ("read tree …: object not found") before the
// rebase read the trees it had just made.
func TestWatchFleetOfThreeOnOneRemote(t *testing.T) {
	testenv.Require(t, env)
	remote, url := bareHTTPRemote(t)
	scope := []string{"--include-resources", "configmaps"}
	var nss, paths []string
	var ws []*watchProcess
	for i := range 3 {
		ns := env.Namespace(t)
		path := fmt.Sprintf("clusters/c%d", i)
		nss, paths = append(nss, ns), append(paths, path)
		args := append(httpRemoteArgs(url), "--path", path, "--include-namespaces", ns, "--debounce", "100ms", "--max-delay", "300ms")
		// Processes of their own, as three clusters' pods: klog's logger
		// is the process's.
		ws = append(ws, spawnWatch(t, true, append(append(args, "--repo", filepath.Join(t.TempDir(), "repo")), scope...)...))
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, w := range ws {
			var failed []string
			for _, line := range strings.Split(w.log.String(), "\n") {
				if strings.Contains(line, "push failed") {
					failed = append(failed, line)
				}
			}
			t.Logf("watcher %d, %d failed pushes, the last ones:\n%s", i, len(failed), strings.Join(failed[max(len(failed)-3, 0):], "\n"))
		}
	})

	// Changes in all three at once: creates, updates and deletes.
	client := env.Client(t)
	stop := time.Now().Add(25 * time.Second)
	var wg gosync.WaitGroup
	errs := make(chan error, 3)
	for _, ns := range nss {
		wg.Go(func() {
			cms := client.CoreV1().ConfigMaps(ns)
			for i := 0; time.Now().Before(stop); i++ {
				var err error
				n := rand.IntN(max(i, 1))
				switch i % 5 {
				case 4:
					err = cms.Delete(t.Context(), fmt.Sprintf("cm-%03d", n), metav1.DeleteOptions{})
				case 2:
					_, err = cms.Update(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", n)}, Data: map[string]string{"v": strconv.Itoa(i)}}, metav1.UpdateOptions{})
				default:
					_, err = cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
				}
				if err != nil && !strings.Contains(err.Error(), "not found") {
					errs <- fmt.Errorf("namespace %s, change %d: %w", ns, i, err)
					return
				}
				time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", remote, clone)
	for i, path := range paths {
		eventually(t, 3*time.Minute, func() bool {
			git(t, clone, "pull", "-q", "--ff-only")
			_, _, code := kubesnap(t, append([]string{"diff", "--repo", clone, "--path", path, "--kubeconfig", env.Kubeconfig, "--include-namespaces", nss[i]}, scope...)...)
			return code == 0
		}, path+" on the remote equal to its namespace")
	}
	if out, err := exec.Command("git", "-C", remote, "fsck", "--strict").CombinedOutput(); err != nil {
		t.Fatalf("git fsck --strict of the remote: %v\n%s", err, out)
	}
	for i, w := range ws {
		log := w.log.String()
		if strings.Contains(log, "object not found") {
			t.Errorf("watcher %d:\n%s", i, log)
		}
		t.Logf("watcher %d: %d commits, %d pushes lost their races, %d pushes failed otherwise", i,
			strings.Count(log, "msg=committed"), strings.Count(log, "push lost its races"), strings.Count(log, `msg="push failed; retrying"`))
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("watcher %d did not exit 0 on SIGTERM: %v\n%s", i, err, w.log)
		}
	}
	// Every commit on the remote is on main's first-parent line: no
	// merge, nothing forced (receive.denyNonFastForwards).
	if merges := git(t, remote, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("merges on the remote:\n%s", merges)
	}
}

// A watcher whose pushes the remote refuses says so: in its log, with the
// remote's own words, and, once the pushes have failed for longer than
// --push-failure-threshold, on /readyz (with the reason) and in
// kubesnap_push_failing_seconds. When the remote takes the push again, it
// logs that, and is ready again.
func TestWatchSaysWhenPushesFailAndWhenTheyWorkAgain(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	remote, url := bareHTTPRemote(t)
	hook := filepath.Join(remote, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'pushes are frozen until Monday' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	w := startWatch(t, filepath.Join(t.TempDir(), "repo"), append(httpRemoteArgs(url), "--path", "clusters/frozen", "--include-namespaces", ns,
		"--debounce", "100ms", "--listen", addr, "--push-failure-threshold", "2s")...)

	eventually(t, time.Minute, func() bool {
		code, body := httpGet(t, addr, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "pushes failing for") && strings.Contains(body, "pushes are frozen until Monday")
	}, "/readyz to say the pushes fail")
	if v := metric(t, addr, "kubesnap_push_failing_seconds"); v < 2 {
		t.Errorf("kubesnap_push_failing_seconds = %v, want at least the threshold", v)
	}
	if log := w.log.String(); !strings.Contains(log, `msg="push failed; retrying"`) || !strings.Contains(log, "(the remote said: pushes are frozen until Monday)") {
		t.Errorf("the log does not say the push failed, with the remote's words:\n%s", log)
	}

	if err := os.Remove(hook); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "thawed", "--from-literal=a=b")
	readyAgain(t, addr, 2*time.Minute, "kubesnap_push_failing_seconds")
	if log := w.log.String(); !regexp.MustCompile(`msg="pushed after failures" failures=\d+ "failing for"=`).MatchString(log) {
		t.Errorf("the log does not say the push went through after failures:\n%s", log)
	}
	// Ready again can come from the retried push of the older commits,
	// before the watcher committed the new ConfigMap: wait for its push.
	eventually(t, time.Minute, func() bool {
		_, ok := headFile(remote, "clusters/frozen/namespaces/"+ns+"/configmaps/thawed.yaml")
		return ok
	}, "the remote to get the commit made after the pushes work again")
}

// tcpProxy forwards connections on addr to target; the test cuts it (the
// API server is out of reach) and opens it again on the same address.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     gosync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func (p *tcpProxy) open() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close() // the test reads nothing from it
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }() // ends when either side closes
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close() // closing what we opened; nothing to report
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// The watcher says when the API server stops answering and when it
// answers again, and /readyz says not ready (with the reason) once it has
// been out of reach for longer than a resync (--rediscover).
func TestWatchSaysWhenTheAPIServerIsLostAndBack(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	host := strings.TrimPrefix(env.Config.Host, "https://")
	p := &tcpProxy{t: t, addr: "127.0.0.1:0", target: host, conns: map[net.Conn]bool{}}
	p.open()
	t.Cleanup(p.cut)
	kc, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kc), "server: https://"+host+"\n") {
		t.Fatalf("the kubeconfig does not name %s:\n%s", host, kc)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kubeconfig, strings.Replace(string(kc), "server: https://"+host+"\n", "server: https://"+p.addr+"\n", 1))
	addr := freeAddr(t)
	w := startWatch(t, filepath.Join(t.TempDir(), "repo"), "--kubeconfig", kubeconfig, "--include-namespaces", ns, "--include-resources", "configmaps",
		"--debounce", "100ms", "--listen", addr, "--rediscover", "2s")
	if code, body := httpGet(t, addr, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s before the cut", code, body)
	}

	p.cut()
	cutAt := time.Now()
	eventually(t, time.Minute, func() bool {
		return strings.Contains(w.log.String(), `msg="lost the connection to the API server; the informers keep retrying"`)
	}, "the log to say the connection is lost")
	if code, body := httpGet(t, addr, "/readyz"); code != http.StatusOK && time.Since(cutAt) < 2*time.Second {
		t.Errorf("/readyz = %d %s within a resync of the cut, want still ready", code, body)
	}
	eventually(t, time.Minute, func() bool {
		code, body := httpGet(t, addr, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "cannot reach the API server for") && strings.Contains(body, p.addr)
	}, "/readyz to say the API server is out of reach")
	if v := metric(t, addr, "kubesnap_apiserver_unreachable_seconds"); v < 2 {
		t.Errorf("kubesnap_apiserver_unreachable_seconds = %v, want at least a resync", v)
	}

	p.open()
	eventually(t, time.Minute, func() bool {
		return regexp.MustCompile(`msg="the API server answers again" "unreachable for"=\d`).MatchString(w.log.String())
	}, "the log to say the API server answers again")
	readyAgain(t, addr, 30*time.Second, "kubesnap_apiserver_unreachable_seconds")
	// And the watcher works on.
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "after", "--from-literal=a=b")
	eventually(t, time.Minute, func() bool {
		_, ok := headFile(w.repo, "namespaces/"+ns+"/configmaps/after.yaml")
		return ok
	}, "a change after the API server came back in git")
}

// --listen serves only this machine unless told otherwise.
func TestWatchListensOnLoopbackByDefault(t *testing.T) {
	f := newWatch(io.Discard).Flags().Lookup("listen")
	if f == nil || f.DefValue != "127.0.0.1:8080" {
		t.Fatalf("--listen defaults to %v, want 127.0.0.1:8080", f)
	}
}

// readyAgain waits until /readyz answers 200 again after a fault, and
// checks that the gauge that counted the fault went back to 0.
func readyAgain(t *testing.T, addr string, timeout time.Duration, gauge string) {
	t.Helper()
	eventually(t, timeout, func() bool {
		code, _ := httpGet(t, addr, "/readyz")
		return code == http.StatusOK
	}, "/readyz ready again once "+gauge+" ends")
	if v := metric(t, addr, gauge); v != 0 {
		t.Errorf("%s = %v once the fault is over, want 0", gauge, v)
	}
}
