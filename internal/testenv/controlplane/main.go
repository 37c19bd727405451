package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubesnap/kubesnap/internal/testenv"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "kubeconfig", "where to write the admin kubeconfig")
	kcm := flag.Bool("controller-manager", true, "also run kube-controller-manager")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := testenv.Start(ctx, testenv.Options{ControllerManager: *kcm})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
	defer env.Stop()
	data, err := os.ReadFile(env.Kubeconfig)
	if err == nil {
		err = os.WriteFile(*kubeconfig, data, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		return
	}
	fmt.Printf("control plane ready; kubeconfig at %s (Ctrl-C stops it)\n", *kubeconfig)
	<-ctx.Done()
}
