package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRoot(os.Stdout, os.Stderr)
	root.SetArgs(invokedAs(root, os.Args[0], os.Args[1:]))
	err := root.ExecuteContext(ctx)
	stop()
	os.Exit(exitCodeAs(root.DisplayName(), err, os.Stderr))
}

// exitCode is exitCodeAs for kubesnap.
func exitCode(err error, stderr io.Writer) int {
	return exitCodeAs("kubesnap", err, stderr)
}

// exitCodeAs prints err as one line and maps it to kubesnap's exit codes:
// 2 for bad usage, the code an exitError carries, 1 otherwise. name is
// the program as the user ran it: kubesnap, or kubectl snap.
func exitCodeAs(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ex exitError
	if errors.As(err, &ex) {
		if ex.err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, ex.err)
		}
		return ex.code
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
		return 2
	}
	return 1
}
