package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// watchProcess is `kubesnap watch` as a separate process.
type watchProcess struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// spawnWatch starts kubesnap watch as a process (this test binary, run
// as kubesnap) and, when wait is set, waits until it watches.
func spawnWatch(t *testing.T, wait bool, args ...string) *watchProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"watch", "--kubeconfig", env.Kubeconfig, "--listen", "", "--rediscover", "1s"}, args...)...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	p := &watchProcess{cmd: cmd, log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("watch %v log:\n%s", args, p.log)
		}
	})
	if wait {
		eventually(t, 2*time.Minute, func() bool { return strings.Contains(p.log.String(), "msg=watching") }, "the watcher process to start")
	}
	return p
}

func (p *watchProcess) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// configMapsAt returns the data of every ConfigMap file of ns at HEAD.
func configMapsAt(t *testing.T, repo, ns string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	dir := "namespaces/" + ns + "/configmaps/"
	ls, err := exec.Command("git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD", dir).Output()
	if err != nil {
		return out
	}
	for _, p := range strings.Fields(string(ls)) {
		data, ok := headFile(repo, p)
		if !ok {
			continue
		}
		obj, err := canonical.Parse([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		m := map[string]string{}
		d, _, _ := unstructured.NestedStringMap(obj.Object, "data")
		for k, v := range d {
			m[k] = v
		}
		out[obj.GetName()] = m
	}
	return out
}

// liveConfigMaps returns the data of every ConfigMap kubesnap captures in ns.
func liveConfigMaps(t *testing.T, ns string) map[string]map[string]string {
	t.Helper()
	l, err := env.Client(t).CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, cm := range l.Items {
		if cm.Name == "kube-root-ca.crt" {
			continue
		}
		m := map[string]string{}
		for k, v := range cm.Data {
			m[k] = v
		}
		out[cm.Name] = m
	}
	return out
}

// waitHeadEqualsLive waits until the ConfigMaps at HEAD are the live ones.
func waitHeadEqualsLive(t *testing.T, repo, ns string) {
	t.Helper()
	var diff string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if diff = cmp.Diff(liveConfigMaps(t, ns), configMapsAt(t, repo, ns)); diff == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("HEAD differs from the live cluster (-live +git):\n%s", diff)
}

func checkRepoSound(t *testing.T, repo string) {
	t.Helper()
	if out, err := exec.Command("git", "-C", repo, "fsck", "--strict").CombinedOutput(); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
	if st := git(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status is not clean:\n%s", st)
	}
}

// churn creates, updates and deletes ConfigMaps in ns, retrying each step
// while the API server is away, until n steps are done or ctx ends.
func churn(ctx context.Context, t *testing.T, ns string, n int, step func(i int)) {
	client := env.Client(t)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		name := fmt.Sprintf("c%02d", i%15)
		for ctx.Err() == nil {
			var err error
			switch i % 3 {
			case 0:
				_, err = client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"step": fmt.Sprint(i)}}, metav1.CreateOptions{})
				if apierrors.IsAlreadyExists(err) {
					err = nil
				}
			case 1:
				var cm *corev1.ConfigMap
				if cm, err = client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
					cm.Data = map[string]string{"step": fmt.Sprint(i)}
					_, err = client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
				}
				if apierrors.IsNotFound(err) {
					err = nil
				}
			case 2:
				if i%6 == 2 {
					err = client.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
					if apierrors.IsNotFound(err) {
						err = nil
					}
				}
			}
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if step != nil {
			step(i)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatchSurvivesAnAPIServerRestart(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	repo := filepath.Join(t.TempDir(), "repo")
	startWatch(t, repo, "--include-namespaces", ns, "--debounce", "100ms")
	churn(t.Context(), t, ns, 90, func(i int) {
		if i == 30 {
			env.StopAPIServer()
			time.Sleep(3 * time.Second)
			if err := env.StartAPIServer(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitHeadEqualsLive(t, repo, ns)
	checkRepoSound(t, repo)
}

func TestWatchKilledAndRestartedLosesNothing(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	repo := filepath.Join(t.TempDir(), "repo")
	args := []string{"--repo", repo, "--include-namespaces", ns, "--debounce", "0s"}
	p := spawnWatch(t, true, args...)
	churn(t.Context(), t, ns, 90, func(i int) {
		switch i {
		case 25, 60:
			p.kill()
		case 35, 70:
			p = spawnWatch(t, true, args...)
		}
	})
	waitHeadEqualsLive(t, repo, ns)
	checkRepoSound(t, repo)
}

func TestWatchLeaderElectionFailsOver(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	remote := filepath.Join(t.TempDir(), "remote.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", remote).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	git(t, remote, "config", "receive.denyNonFastForwards", "true")
	const lease = 4 * time.Second
	start := func(id string) (*watchProcess, string) {
		repo := filepath.Join(t.TempDir(), id)
		return spawnWatch(t, false, "--repo", repo, "--remote", "file://"+remote, "--include-namespaces", ns, "--debounce", "100ms",
			"--leader-elect", "--leader-elect-namespace", ns, "--leader-elect-id", id, "--leader-elect-lease-duration", lease.String()), repo
	}
	a, _ := start("a")
	eventually(t, 2*time.Minute, func() bool { return strings.Contains(a.log.String(), "msg=watching") }, "a to lead and watch")
	b, repoB := start("b")
	eventually(t, 30*time.Second, func() bool { return strings.Contains(b.log.String(), "msg=following leader=a") }, "b to follow a")
	if _, err := os.Stat(repoB); err == nil {
		if out, _ := exec.Command("git", "-C", repoB, "rev-parse", "HEAD").CombinedOutput(); !strings.Contains(string(out), "unknown revision") && strings.TrimSpace(string(out)) != "HEAD" {
			t.Errorf("the follower committed: %s", out)
		}
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "before", "--from-literal=a=1")
	eventually(t, 30*time.Second, func() bool { _, ok := headFile(remote, "namespaces/"+ns+"/configmaps/before.yaml"); return ok }, "a's commit on the remote")

	a.kill()
	killed := time.Now()
	eventually(t, 2*lease, func() bool { return strings.Contains(b.log.String(), "msg=leading") }, "b to take over within the lease duration")
	t.Logf("b took over %s after a was killed (lease %s)", time.Since(killed).Round(100*time.Millisecond), lease)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "after", "--from-literal=a=2")
	eventually(t, time.Minute, func() bool { _, ok := headFile(remote, "namespaces/"+ns+"/configmaps/after.yaml"); return ok }, "b's commit on the remote")
	if _, ok := headFile(remote, "namespaces/"+ns+"/configmaps/before.yaml"); !ok {
		t.Errorf("a's file was lost")
	}
}

// TestWatchPushesOverAnotherWriterWithoutForce pushes to a bare
// repository over file://, and over git http-backend on 127.0.0.1 with a
// token, while another writer pushes 20 times.
func TestWatchPushesOverAnotherWriterWithoutForce(t *testing.T) {
	testenv.Require(t, env)
	for _, transport := range []string{"file", "http"} {
		t.Run(transport, func(t *testing.T) { pushesOverAnotherWriter(t, transport) })
	}
}

func pushesOverAnotherWriter(t *testing.T, transport string) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	remote := filepath.Join(dir, "remote.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", remote).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	git(t, remote, "config", "receive.denyNonFastForwards", "true")
	git(t, remote, "config", "receive.denyDeletes", "true")
	repo := filepath.Join(dir, "repo")
	url := "file://" + remote
	var extra []string
	const token = "glpat-watch-Zq7-secret"
	if transport == "http" {
		git(t, remote, "config", "http.receivepack", "true")
		url = testenv.GitHTTP(t, dir, "kubesnap", token).URL + "/remote.git"
		t.Setenv("KUBESNAP_TEST_GIT_TOKEN", token)
		extra = []string{"--git-token-env", "KUBESNAP_TEST_GIT_TOKEN", "--git-username", "kubesnap"}
	}
	w := startWatch(t, repo, append([]string{"--remote", url, "--path", "clusters/test", "--include-namespaces", ns, "--debounce", "50ms"}, extra...)...)
	defer func() {
		if strings.Contains(w.log.String(), token) {
			t.Errorf("the token is in the watcher's log")
		}
	}()

	other := filepath.Join(dir, "other")
	git(t, dir, "clone", "-q", remote, other)
	git(t, other, "config", "user.name", "other")
	git(t, other, "config", "user.email", "other@example.com")
	var theirs []string
	for i := range 20 {
		env.Kubectl(t, "", "-n", ns, "create", "configmap", fmt.Sprintf("ours-%02d", i), "--from-literal=i="+fmt.Sprint(i))
		// The other writer commits and pushes, rebasing as git users do.
		name := fmt.Sprintf("other/file-%02d", i)
		if err := os.MkdirAll(filepath.Join(other, "other"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(other, name), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, other, "add", name)
		git(t, other, "commit", "-q", "-m", "theirs "+fmt.Sprint(i))
		theirs = append(theirs, strings.TrimSpace(git(t, other, "rev-parse", "HEAD")))
		eventually(t, 30*time.Second, func() bool {
			if _, err := exec.Command("git", "-C", other, "pull", "-q", "--rebase").CombinedOutput(); err != nil {
				return false
			}
			_, err := exec.Command("git", "-C", other, "push", "-q", "origin", "HEAD:main").CombinedOutput()
			return err == nil
		}, "the other writer's push")
		theirs[i] = strings.TrimSpace(git(t, other, "rev-parse", "HEAD"))
		time.Sleep(30 * time.Millisecond)
	}
	eventually(t, time.Minute, func() bool {
		ls, _ := exec.Command("git", "-C", remote, "ls-tree", "-r", "--name-only", "main", "clusters/test/namespaces/"+ns+"/configmaps/").Output()
		return strings.Count(string(ls), "ours-") == 20
	}, "all 20 of our changes on the remote")

	// The other writer edits one of our files and adds one under our
	// path: at our next push, the live cluster wins over both.
	ours := "clusters/test/namespaces/" + ns + "/configmaps/ours-00.yaml"
	forged := "clusters/test/namespaces/" + ns + "/configmaps/forged.yaml"
	eventually(t, 30*time.Second, func() bool {
		_, err := exec.Command("git", "-C", other, "pull", "-q", "--rebase").CombinedOutput()
		return err == nil
	}, "the other writer's pull")
	writeFile(t, filepath.Join(other, filepath.FromSlash(ours)), "edited: by hand\n")
	writeFile(t, filepath.Join(other, filepath.FromSlash(forged)), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: forged, namespace: "+ns+"}\n")
	git(t, other, "add", ours, forged)
	git(t, other, "commit", "-q", "-m", "theirs: edit ours")
	edit := strings.TrimSpace(git(t, other, "rev-parse", "HEAD"))
	git(t, other, "push", "-q", "origin", "HEAD:main")
	theirs = append(theirs, edit)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "after-edit", "--from-literal=x=1")
	eventually(t, time.Minute, func() bool {
		data, _ := exec.Command("git", "-C", remote, "show", "main:"+ours).Output()
		_, forgedErr := exec.Command("git", "-C", remote, "show", "main:"+forged).Output()
		return strings.Contains(string(data), `i: "0"`) && forgedErr != nil
	}, "our file back from the live cluster and the forged one gone, on the remote")
	for i, c := range theirs {
		if err := exec.Command("git", "-C", remote, "merge-base", "--is-ancestor", c, "main").Run(); err != nil {
			t.Errorf("their commit %d (%s) is not in the remote's history", i, c)
		}
	}
	files := strings.Fields(git(t, remote, "ls-tree", "-r", "--name-only", "main", "other/"))
	sort.Strings(files)
	if len(files) != 20 {
		t.Errorf("the remote holds %d of the other writer's 20 files", len(files))
	}
	if out, err := exec.Command("git", "-C", remote, "fsck", "--strict").CombinedOutput(); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
}
