package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Versions of the binaries the Makefile builds; keep in step with it.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
	SopsVersion       = "v3.13.3"
)

// BinDir is the folder holding the binaries: $KUBESNAP_BIN_DIR, or
// <user cache>/kubesnap/bin.
func BinDir() string {
	if d := os.Getenv("KUBESNAP_BIN_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "kubesnap", "bin")
}

// Binary returns the path of one of etcd, kube-apiserver,
// kube-controller-manager, kubectl or sops.
func Binary(name string) string {
	switch name {
	case "etcd":
		return filepath.Join(BinDir(), "etcd-"+EtcdVersion, name)
	case "sops":
		return filepath.Join(BinDir(), "sops-"+SopsVersion, name)
	}
	return filepath.Join(BinDir(), "kube-"+KubernetesVersion, name)
}

// Available reports whether the binaries are built, and if not what to run.
func Available() error {
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(Binary(b)); err != nil {
			return fmt.Errorf("%s is not built (%s missing): run 'make testbin'", b, Binary(b))
		}
	}
	return nil
}

// Options choose what runs.
type Options struct {
	// ControllerManager also starts kube-controller-manager.
	ControllerManager bool
	// AuditPolicy, when set, is an audit.k8s.io/v1 Policy the API server
	// gets as --audit-policy-file.
	AuditPolicy []byte
	// AuditWebhookKubeconfig, when set, is the kubeconfig of an audit
	// webhook, given as --audit-webhook-config-file (AuditPolicy is then
	// required). Its batches wait up to 30s by default: a test passes
	// --audit-webhook-batch-max-wait in ExtraAPIServerArgs.
	AuditWebhookKubeconfig []byte
	// ExtraAPIServerArgs are appended to kube-apiserver's arguments.
	ExtraAPIServerArgs []string
	// Users are more token users, with no permissions but what RBAC
	// grants them (as LimitedUser); Env.UserKubeconfig logs in as each.
	Users []string
}

// Env is a running control plane.
type Env struct {
	// Dir holds data, certificates, logs and the kubeconfig.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string
	// LimitedKubeconfig logs in as LimitedUser.
	LimitedKubeconfig string
	// userKubeconfigs are Options.Users' kubeconfigs, by user.
	userKubeconfigs map[string]string
	// Config is the admin REST config.
	Config *rest.Config

	procs         []*proc // in start order
	opts          Options
	host, certDir string
}

// proc is one running component.
type proc struct {
	name string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when it exited
}

const (
	adminToken = "kubesnap-admin-token"
	// LimitedUser is a user with no permissions but what RBAC grants it,
	// for tests of forbidden types; LimitedKubeconfig logs in as it.
	LimitedUser  = "limited"
	limitedToken = "kubesnap-limited-token"
)

// Start starts a control plane with its data in a new temporary folder and
// waits until the API server is ready. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubesnap-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, opts: opts}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	if err := writeKeys(dir); err != nil {
		return nil, err
	}
	if err := writeTokens(dir, opts.Users); err != nil {
		return nil, err
	}
	auditArgs, err := writeAudit(dir, opts)
	if err != nil {
		return nil, err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	if err := e.start("etcd",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--log-level", "warn",
	); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")
	apiArgs := []string{
		"--etcd-servers", etcdURL,
		"--secure-port", strconv.Itoa(apiPort), "--bind-address", "127.0.0.1",
		"--cert-dir", certDir,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		// A /24 runs out of ClusterIPs after ~250 Services; benchmarks
		// create thousands.
		"--service-cluster-ip-range", "10.96.0.0/16",
	}
	apiArgs = append(append(apiArgs, auditArgs...), opts.ExtraAPIServerArgs...)
	if err := e.start("kube-apiserver", apiArgs...); err != nil {
		return nil, err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	e.host, e.certDir = host, certDir
	if err := e.waitReady(ctx, host, certDir); err != nil {
		return nil, err
	}
	if err := e.writeKubeconfig(host, certDir); err != nil {
		return nil, err
	}
	if opts.ControllerManager {
		if err := e.start("kube-controller-manager",
			"--kubeconfig", e.Kubeconfig,
			"--service-account-private-key-file", filepath.Join(dir, "sa.key"),
			"--root-ca-file", filepath.Join(certDir, "apiserver.crt"),
			"--controllers", "*,-serviceaccount-token",
			"--use-service-account-credentials=false",
			"--leader-elect=false",
			"--secure-port", strconv.Itoa(kcmPort), "--bind-address", "127.0.0.1",
		); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// start runs one binary with its output in <Dir>/<name>.log. The process
// gets SIGKILL if this one dies, so an interrupted test leaves no orphans.
func (e *Env) start(name string, args ...string) error {
	p, err := e.run(name, args)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, p)
	return nil
}

func (e *Env) run(name string, args []string) (*proc, error) {
	log, err := os.OpenFile(filepath.Join(e.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary(name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	log.Close()
	p := &proc{name: name, args: args, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// StopAPIServer kills kube-apiserver (as a crash would) and waits until
// it is gone; StartAPIServer brings it back on the same port and data.
// Fault tests use them; other tests of the package see the outage.
func (e *Env) StopAPIServer() {
	for _, p := range e.procs {
		if p.name == "kube-apiserver" {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// StartAPIServer restarts the kube-apiserver StopAPIServer stopped and
// waits until it is ready.
func (e *Env) StartAPIServer(ctx context.Context) error {
	for i, p := range e.procs {
		if p.name != "kube-apiserver" {
			continue
		}
		np, err := e.run(p.name, p.args)
		if err != nil {
			return err
		}
		e.procs[i] = np
		return e.waitReady(ctx, e.host, e.certDir)
	}
	return errors.New("no kube-apiserver to restart")
}

func (e *Env) waitReady(ctx context.Context, host, certDir string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // polling only; the kubeconfig verifies
	}}
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, p := range e.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited: %s", p.name, e.logTail(p.name))
			default:
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if _, err := os.Stat(filepath.Join(certDir, "apiserver.crt")); err == nil {
					return nil
				}
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after 90s (%s): %s", last, e.logTail("kube-apiserver"))
}

// logTail returns the last lines of a component's log, for errors.
func (e *Env) logTail(name string) string {
	data, _ := os.ReadFile(filepath.Join(e.Dir, name+".log"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// Stop stops every process, newest first, and removes Dir. It waits for
// each process to exit (an API server takes a few seconds).
func (e *Env) Stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	e.procs = nil
	if e.Dir != "" {
		_ = os.RemoveAll(e.Dir)
	}
}
