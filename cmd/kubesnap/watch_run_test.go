package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the test reads while the watcher writes.
type syncBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningWatch is `kubesnap watch` running in the test process.
type runningWatch struct {
	repo   string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan int
	code   int
}

// startWatch runs `kubesnap watch --repo repo args...` against the shared
// control plane and waits until it watches (first capture committed).
func startWatch(t *testing.T, repo string, args ...string) *runningWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	w := &runningWatch{repo: repo, log: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	root := newRoot(io.Discard, w.log)
	root.SetArgs(append([]string{"watch", "--repo", repo, "--kubeconfig", env.Kubeconfig, "--listen", "", "--rediscover", "1s"}, args...))
	go func() {
		err := root.ExecuteContext(ctx)
		w.done <- exitCode(err, w.log)
	}()
	t.Cleanup(func() { w.stop(t) })
	eventually(t, 2*time.Minute, func() bool {
		select {
		case code := <-w.done:
			w.done <- code
			t.Fatalf("watch exited %d before watching:\n%s", code, w.log)
		default:
		}
		return strings.Contains(w.log.String(), `msg=watching`)
	}, "the watcher to start")
	return w
}

// stop ends the watcher as SIGTERM does and returns its exit code.
func (w *runningWatch) stop(t *testing.T) int {
	t.Helper()
	if w.cancel == nil {
		return w.code
	}
	w.cancel()
	w.cancel = nil
	select {
	case w.code = <-w.done:
	case <-time.After(time.Minute):
		t.Fatalf("watch did not stop within a minute:\n%s", w.log)
	}
	return w.code
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// headFile returns a file at HEAD, read by git itself.
func headFile(repo, path string) (string, bool) {
	out, err := exec.Command("git", "-C", repo, "show", "HEAD:"+path).Output()
	return string(out), err == nil
}

func headCommit(t *testing.T, repo string) string {
	t.Helper()
	return strings.TrimSpace(git(t, repo, "rev-parse", "HEAD"))
}
