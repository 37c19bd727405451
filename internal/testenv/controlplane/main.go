// Command controlplane starts a local etcd, kube-apiserver and
// kube-controller-manager for the demo, and writes the admin kubeconfig.
//
// With --audit-webhook ADDR and --audit-policy FILE, the API server posts
// its audit events to https://ADDR/audit, and the certificates a watcher
// needs to receive them are written to --dir (audit-serving.crt,
// audit-serving.key, audit-client-ca.crt). --users names token users,
// whose kubeconfigs are written to --dir as kubeconfig-USER; they may do
// nothing until RBAC lets them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

type flags struct {
	kubeconfig, dir, auditAddr, auditPolicy, users string
	kcm                                            bool
}

func main() {
	var f flags
	flag.StringVar(&f.kubeconfig, "kubeconfig", "kubeconfig", "where to write the admin kubeconfig")
	flag.BoolVar(&f.kcm, "controller-manager", true, "also run kube-controller-manager")
	flag.StringVar(&f.dir, "dir", "", "folder for the users' kubeconfigs and the audit webhook's certificates (default: beside --kubeconfig)")
	flag.StringVar(&f.auditAddr, "audit-webhook", "", "post audit events to https://ADDR/audit (127.0.0.1:PORT); needs --audit-policy")
	flag.StringVar(&f.auditPolicy, "audit-policy", "", "the API server's audit policy file")
	flag.StringVar(&f.users, "users", "", "token users to create, comma-separated")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	if f.dir == "" {
		f.dir = filepath.Dir(f.kubeconfig)
	}
	opts := testenv.Options{ControllerManager: f.kcm}
	if f.users != "" {
		opts.Users = strings.Split(f.users, ",")
	}
	if (f.auditAddr == "") != (f.auditPolicy == "") {
		return errors.New("give --audit-webhook and --audit-policy together")
	}
	if f.auditAddr != "" {
		policy, err := os.ReadFile(f.auditPolicy)
		if err != nil {
			return err
		}
		wh, err := testenv.NewAuditWebhook(f.dir, f.auditAddr)
		if err != nil {
			return err
		}
		opts.AuditPolicy, opts.AuditWebhookKubeconfig = policy, wh.Kubeconfig
		// Post each batch within 200ms, so that the demo's commit has
		// its author without waiting for the default batch window.
		opts.ExtraAPIServerArgs = []string{"--audit-webhook-batch-max-wait=200ms"}
		fmt.Printf("audit webhook certificates: %s %s %s\n", wh.CertFile, wh.KeyFile, wh.ClientCAFile)
	}
	env, err := testenv.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Stop()
	for _, u := range opts.Users {
		src, _ := env.UserKubeconfigFile(u)
		if err := copyFile(src, filepath.Join(f.dir, "kubeconfig-"+u)); err != nil {
			return err
		}
	}
	// The admin kubeconfig comes last: the demo waits for it.
	if err := copyFile(env.Kubeconfig, f.kubeconfig); err != nil {
		return err
	}
	fmt.Printf("control plane ready; kubeconfig at %s (Ctrl-C stops it)\n", f.kubeconfig)
	<-ctx.Done()
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
