// Command kubesnap-image builds kubesnap's container image without a
// container daemon: a static kubesnap, CA certificates and a non-root user,
// written as an OCI image layout and a tarball for docker load. make image
// runs it from the module's root; see package image for what the image
// holds and why its bytes are reproducible.
//
//	go run ./internal/image/cmd/kubesnap-image --version v1.2.0 --revision $(git rev-parse HEAD) --source-date-epoch $(git log -1 --format=%ct)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubesnap/kubesnap/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubesnap-image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kubesnap-image", flag.ContinueOnError)
	out := fs.String("out", "bin/image", "folder to write oci/ (an OCI image layout) and kubesnap.tar (for docker load) into")
	arch := fs.String("arch", "amd64", "GOARCH to build for (the image is linux/ARCH)")
	version := fs.String("version", "dev", "version: linked into kubesnap, the image's label and tag")
	revision := fs.String("revision", "unknown", "git commit built: linked into kubesnap and the image's label")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "every time in the image, in seconds since 1970 (default $SOURCE_DATE_EPOCH, else 0): the commit's time")
	caCerts := fs.String("ca-certs", image.CACertsPath, "CA bundle to copy into the image (Debian's package ca-certificates)")
	goCmd := fs.String("go", "go", "go command that builds kubesnap")
	binary := fs.String("binary", "", "a kubesnap already built for linux/ARCH, statically, instead of building one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: kubesnap-image takes only flags", fs.Arg(0))
	}
	created := time.Unix(0, 0)
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || sec < 0 {
			return fmt.Errorf("bad --source-date-epoch %q: give seconds since 1970 (git log -1 --format=%%ct)", *epoch)
		}
		created = time.Unix(sec, 0)
	}
	bin := *binary
	if bin == "" {
		tmp, err := os.MkdirTemp("", "kubesnap-image-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }() // best effort: a temporary folder
		bin = filepath.Join(tmp, "kubesnap")
		err = image.BuildBinary(ctx, image.BinaryOptions{Go: *goCmd, Arch: *arch, Version: *version, Commit: *revision, Out: bin})
		if err != nil {
			return err
		}
	}
	img, err := image.Build(image.Options{Binary: bin, CACerts: *caCerts, Arch: *arch, Version: *version, Revision: *revision, Created: created})
	if err != nil {
		return err
	}
	w, err := image.Write(img, *out, *version)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (linux/%s) %s\n  %s\n  %s  (docker load < %s)\n", w.Tag, *arch, w.Digest, w.Layout, w.Tarball, w.Tarball)
	return nil
}
