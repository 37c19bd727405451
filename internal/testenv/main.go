package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// RequireEnv names the variable that turns a missing control plane from a
// loud skip into a failure; make test sets it.
const RequireEnv = "KUBESNAP_REQUIRE_CONTROL_PLANE"

// Main runs a test package's tests with one shared control plane, stored in
// *env for the tests, and stops it when the tests end or the process is
// interrupted. Use it from TestMain: os.Exit(testenv.Main(m, opts, &env)).
//
// When the binaries are not built, go test fails and says how to build
// them, unless -short asks to skip integration tests: then *env stays nil,
// Require skips them, and a banner says so. RequireEnv (make test) turns
// even that into a failure.
func Main(m *testing.M, opts Options, env **Env) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if err := Available(); err != nil {
		if testing.Short() && os.Getenv(RequireEnv) == "" {
			fmt.Fprintf(os.Stderr, "\n*** SKIPPING INTEGRATION TESTS (-short): %v ***\n*** 'make test' builds the control plane and never skips them. ***\n\n", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "FAIL: %v, or run go test -short to skip the integration tests\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start control plane: %v\n", err)
		return 1
	}
	*env = e
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; ok {
			e.Stop()
			os.Exit(1)
		}
	}()
	code := m.Run()
	signal.Stop(sigs)
	close(sigs)
	e.Stop()
	return code
}

// Require skips t when env is nil (binaries not built and -short, see
// Main).
func Require(t testing.TB, env *Env) {
	t.Helper()
	if env == nil {
		t.Skip("control plane not built: run 'make testbin' (make test never skips this)")
	}
}

// Client returns a typed client for the control plane.
func (e *Env) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ImpersonatingClient returns a typed client that logs in as the admin
// and acts as user (Kubernetes impersonation).
func (e *Env) ImpersonatingClient(t testing.TB, user string) kubernetes.Interface {
	t.Helper()
	rc := rest.CopyConfig(e.Config)
	rc.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Namespace creates a fresh namespace for t and deletes it when t ends.
// With a controller-manager running, it waits until the namespace is gone,
// so that the next test sees a cluster that no longer changes on its own.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	c := e.Client(t)
	ns, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		err := c.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
		if !e.opts.ControllerManager {
			return
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			_, err := c.CoreV1().Namespaces().Get(context.Background(), ns.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
		}
		t.Errorf("namespace %s still there a minute after its deletion", ns.Name)
	})
	if e.opts.ControllerManager {
		// The controller-manager adds the namespace's default service
		// account: wait for it, so that a test that starts a watcher now
		// does not see it come as a change of its own.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			_, err := c.CoreV1().ServiceAccounts(ns.Name).Get(t.Context(), "default", metav1.GetOptions{})
			if err == nil {
				break
			}
			if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
				t.Fatalf("namespace %s: its default service account: %v", ns.Name, err)
			}
		}
	}
	return ns.Name
}

// Kubectl runs the kubectl the Makefile built against the control plane,
// with stdin as its input, and returns its output; it fails t on error.
func (e *Env) Kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := e.KubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return out
}

// KubectlErr is Kubectl returning the error.
func (e *Env) KubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(Binary("kubectl"), append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
