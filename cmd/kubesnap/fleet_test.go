package main

import (
	"context"
	"encoding/json"
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

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
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

// fleetSize is the fleet test's size: KUBESNAP_FLEET_CLUSTERS control
// planes (3 in make test, 5 for the fleet benchmark by hand) changed for
// KUBESNAP_FLEET_SECONDS (30) at once.
func fleetSize(t *testing.T) (clusters int, changing time.Duration) {
	t.Helper()
	read := func(name string, def, least int) int {
		s := os.Getenv(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < least {
			t.Fatalf("%s=%q: want a whole number, at least %d", name, s, least)
		}
		return n
	}
	return read("KUBESNAP_FLEET_CLUSTERS", 3, 2), time.Duration(read("KUBESNAP_FLEET_SECONDS", 30, 1)) * time.Second
}

// startControlPlanes starts n control planes at once, each its own etcd
// and kube-apiserver (no controller-manager: nothing here needs one), and
// stops them, all at once too, when t ends.
func startControlPlanes(t *testing.T, n int) []*testenv.Env {
	t.Helper()
	envs := make([]*testenv.Env, n)
	errs := make([]error, n)
	var wg gosync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			envs[i], errs[i] = testenv.Start(ctx, testenv.Options{})
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		var wg gosync.WaitGroup
		for _, e := range envs {
			if e != nil {
				wg.Go(e.Stop)
			}
		}
		wg.Wait()
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start control plane %d: %v", i, err)
		}
	}
	return envs
}

// fleetMember is one cluster of the fleet and its watcher.
type fleetMember struct {
	name, path string // a, clusters/a
	env        *testenv.Env
	repo, addr string // the watcher's repository and metrics address
	w          *watchProcess
	changes    int
}

// A fleet on one remote: several control planes, each with its own
// watcher under --path clusters/<name>, all pushing to one bare remote
// over git http-backend while every cluster changes at once. Afterwards:
// each folder on the remote equals its live cluster (kubesnap diff exit
// 0); no commit is lost (each watcher's branch is on the remote's); no
// push was forced (the remote takes non-fast-forward pushes here, and its
// reflog shows every update of main was a fast-forward); every push that
// lost its races went through within a bounded run of failures; the
// remote passes git fsck --strict; and kubesnap log --path clusters/<name>
// lists exactly that cluster's commits. A watcher that lost a race and
// committed again meanwhile once failed every later push ("read tree …:
// object not found") before the rebase read the trees it had just made.
// KUBESNAP_FLEET_CLUSTERS=5 KUBESNAP_FLEET_SECONDS=180 is the fleet
// benchmark; its figures are logged (go test -v).
func TestWatchFleetOfControlPlanesOnOneRemote(t *testing.T) {
	testenv.Require(t, env)
	began := time.Now()
	n, changing := fleetSize(t)
	remote, url := bareHTTPRemote(t)
	// Let the remote take any push, forced or not, and log every update
	// of main: that kubesnap never forces is then the test's to show.
	git(t, remote, "config", "receive.denyNonFastForwards", "false")
	git(t, remote, "config", "core.logAllRefUpdates", "always")
	envs := startControlPlanes(t, n)
	t.Logf("%d control planes ready after %s", n, time.Since(began).Round(100*time.Millisecond))
	fleet := make([]*fleetMember, n)
	for i, e := range envs {
		name := string(rune('a' + i))
		m := &fleetMember{name: name, path: "clusters/" + name, env: e, repo: filepath.Join(t.TempDir(), "repo"), addr: freeAddr(t)}
		e.Kubectl(t, "", "create", "namespace", "fleet")
		fleet[i] = m
	}
	for _, m := range fleet {
		// Processes of their own, as the clusters' pods; each captures
		// its whole cluster. They start at once and race for the first
		// push as much as for the later ones.
		m.w = spawnWatch(t, false, append(httpRemoteArgs(url), "--kubeconfig", m.env.Kubeconfig, "--listen", m.addr,
			"--repo", m.repo, "--path", m.path, "--debounce", "100ms", "--max-delay", "300ms")...)
	}
	for _, m := range fleet {
		eventually(t, 3*time.Minute, func() bool { return strings.Contains(m.w.log.String(), "msg=watching") }, "watcher "+m.name+" to start")
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range fleet {
				logFailedPushes(t, m)
			}
		}
	})
	t.Logf("%d watchers watching after %s", n, time.Since(began).Round(100*time.Millisecond))

	// Changes in every cluster at once: creates, updates and deletes.
	stop := time.Now().Add(changing)
	errs := make(chan error, n)
	var wg gosync.WaitGroup
	for _, m := range fleet {
		cms := m.env.Client(t).CoreV1().ConfigMaps("fleet")
		wg.Go(func() {
			if err := changeUntil(t.Context(), m, cms, stop); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	changed := time.Now()

	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", remote, clone)
	for _, m := range fleet {
		eventually(t, 3*time.Minute, func() bool {
			git(t, clone, "pull", "-q", "--ff-only")
			_, _, code := kubesnap(t, "diff", "--repo", clone, "--path", m.path, "--kubeconfig", m.env.Kubeconfig)
			return code == 0
		}, m.path+" on the remote equal to its cluster")
	}
	settled := time.Since(changed)

	// Push retries are bounded: each watcher's last push went through,
	// and no run of failed pushes was longer than maxFailedPushes.
	const maxFailedPushes = 10
	type figures struct{ commits, failed, longest int }
	got := map[string]figures{}
	for _, m := range fleet {
		if v := metric(t, m.addr, "kubesnap_push_failing_seconds"); v != 0 {
			t.Errorf("watcher %s: kubesnap_push_failing_seconds = %v once its cluster is on the remote, want 0", m.name, v)
		}
		f := figures{commits: int(metric(t, m.addr, "kubesnap_commits_total")), failed: int(metric(t, m.addr, "kubesnap_push_failures_total"))}
		for _, run := range regexp.MustCompile(`msg="pushed after failures" failures=(\d+)`).FindAllStringSubmatch(m.w.log.String(), -1) {
			k, _ := strconv.Atoi(run[1]) // \d+
			f.longest = max(f.longest, k)
		}
		if f.longest > maxFailedPushes {
			t.Errorf("watcher %s: %d pushes failed in a row, want at most %d", m.name, f.longest, maxFailedPushes)
		}
		if log := m.w.log.String(); strings.Contains(log, "object not found") {
			t.Errorf("watcher %s: object not found:\n%s", m.name, log)
		}
		got[m.name] = f
	}
	for _, m := range fleet {
		if err := m.w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := m.w.cmd.Wait(); err != nil {
			t.Errorf("watcher %s did not exit 0 on SIGTERM: %v", m.name, err)
		}
	}

	// Nothing lost: each watcher's branch, every commit it made (rebased
	// onto the others' as it lost races), is on the remote's main.
	for _, m := range fleet {
		head := headCommit(t, m.repo)
		if _, err := runGit(remote, "merge-base", "--is-ancestor", head, "main"); err != nil {
			t.Errorf("watcher %s: its branch %s is not on the remote's main: %v", m.name, head, err)
		}
	}
	pushes := checkFastForwards(t, remote)
	if out, err := runGit(remote, "fsck", "--strict"); err != nil {
		t.Fatalf("git fsck --strict of the remote: %v\n%s", err, out)
	}
	if merges := git(t, remote, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("merges on the remote:\n%s", merges)
	}
	git(t, clone, "pull", "-q", "--ff-only")
	for _, m := range fleet {
		listed := checkLogPath(t, clone, m.path)
		f := got[m.name]
		// Every commit the watcher made, and only those, is on the
		// remote under its path.
		if len(listed) != f.commits {
			t.Errorf("log --path %s lists %d commits, its watcher made %d", m.path, len(listed), f.commits)
		}
		t.Logf("cluster %s: %d changes, %d commits, %d failed pushes, at most %d in a row", m.name, m.changes, f.commits, f.failed, f.longest)
	}
	t.Logf("%d clusters changed for %s; on the remote %s later; %d pushes to main; %s in all",
		n, changing, settled.Round(100*time.Millisecond), pushes, time.Since(began).Round(100*time.Millisecond))
}

// changeUntil creates, updates and deletes ConfigMaps in m's namespace
// fleet until stop, 7 to 20 changes a second.
func changeUntil(ctx context.Context, m *fleetMember, cms typedcorev1.ConfigMapInterface, stop time.Time) error {
	for i := 0; time.Now().Before(stop); i++ {
		var err error
		k := rand.IntN(max(i, 1))
		switch i % 5 {
		case 4:
			err = cms.Delete(ctx, fmt.Sprintf("cm-%04d", k), metav1.DeleteOptions{})
		case 2:
			_, err = cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", k)}, Data: map[string]string{"v": strconv.Itoa(i)}}, metav1.UpdateOptions{})
		default:
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i)}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
		}
		switch {
		case apierrors.IsNotFound(err): // deleted before
		case err != nil:
			return fmt.Errorf("cluster %s, change %d: %w", m.name, i, err)
		default:
			m.changes++
		}
		time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
	}
	return nil
}

// checkFastForwards reads the remote's reflog of main (every update it
// took, oldest first) and fails t for any that was not a fast-forward.
// It returns how many updates there were.
func checkFastForwards(t *testing.T, remote string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(remote, "logs", "refs", "heads", "main"))
	if err != nil {
		t.Fatalf("the remote's reflog of main: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line) // old new committer <email> time zone\tmessage
		if len(f) < 2 {
			t.Fatalf("the remote's reflog: bad line %q", line)
		}
		n++
		if strings.Trim(f[0], "0") == "" {
			if n > 1 {
				t.Errorf("the remote's main was created again (%s) after %d updates", f[1], n-1)
			}
			continue
		}
		if out, err := runGit(remote, "merge-base", "--is-ancestor", f[0], f[1]); err != nil {
			t.Errorf("the remote's main moved from %s to %s, not a fast-forward: %v %s", f[0], f[1], err, out)
		}
	}
	if n == 0 {
		t.Fatal("the remote's reflog of main is empty")
	}
	return n
}

// checkLogPath runs kubesnap log --path path on repo and checks it lists
// the commits whose Kubesnap-Path trailer is path, newest first, which
// are also the commits that changed files under it. It returns them.
func checkLogPath(t *testing.T, repo, path string) []string {
	t.Helper()
	out, errOut, code := kubesnap(t, "log", "--repo", repo, "--path", path, "-o", "json")
	if code != 0 {
		t.Fatalf("log --path %s exited %d: %s", path, code, errOut)
	}
	var entries []struct {
		Commit string `json:"commit"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("log --path %s -o json: %v\n%s", path, err, out)
	}
	var listed, trailed []string
	for _, e := range entries {
		listed = append(listed, e.Commit)
	}
	for line := range strings.Lines(git(t, repo, "log", "--format=%H %(trailers:key=Kubesnap-Path,valueonly,separator=%x2C)")) {
		if f := strings.Fields(line); len(f) == 2 && f[1] == path {
			trailed = append(trailed, f[0])
		}
	}
	if diff := cmp.Diff(trailed, listed); diff != "" {
		t.Errorf("log --path %s lists other commits than those with Kubesnap-Path: %s (-want +got):\n%s", path, path, diff)
	}
	if diff := cmp.Diff(strings.Fields(git(t, repo, "log", "--format=%H", "--", path+"/")), listed); diff != "" {
		t.Errorf("log --path %s lists other commits than those that changed files under it (-want +got):\n%s", path, diff)
	}
	return listed
}

// logFailedPushes logs the last pushes m's watcher failed, for a failed
// test.
func logFailedPushes(t *testing.T, m *fleetMember) {
	t.Helper()
	if m.w == nil {
		return
	}
	var failed []string
	for _, line := range strings.Split(m.w.log.String(), "\n") {
		if strings.Contains(line, "push failed") || strings.Contains(line, "push lost its races") {
			failed = append(failed, line)
		}
	}
	t.Logf("watcher %s, %d failed pushes, the last ones:\n%s", m.name, len(failed), strings.Join(failed[max(len(failed)-3, 0):], "\n"))
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
