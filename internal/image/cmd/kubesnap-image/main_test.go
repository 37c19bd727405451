package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRunRefusesBadFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--source-date-epoch", "yesterday"}, `bad --source-date-epoch "yesterday": give seconds since 1970`},
		{[]string{"--source-date-epoch", "-5"}, `bad --source-date-epoch "-5"`},
		{[]string{"now"}, `unexpected argument "now"`},
		{[]string{"--binary", filepath.Join(out, "none")}, "none not found: build it first"},
	} {
		err := run(t.Context(), append([]string{"--out", out}, c.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written", out)
	}
}

// The command wires the flags through to the image: a small static
// program stands in for kubesnap, so no build of kubesnap is needed here.
func TestRunWritesTheImage(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tiny\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "tiny")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "out")
	var stdout strings.Builder
	err := run(t.Context(), []string{"--out", out, "--binary", bin, "--arch", runtime.GOARCH, "--version", "v1.2.3", "--revision", "abc", "--source-date-epoch", "86400"}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ghcr.io/kubesnap/kubesnap:v1.2.3 (linux/" + runtime.GOARCH + ") sha256:"; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("printed %q, want it to start with %q", stdout.String(), want)
	}
	for _, p := range []string{"oci/oci-layout", "oci/index.json", "kubesnap.tar"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Error(err)
		}
	}
	index, err := os.ReadFile(filepath.Join(out, "oci", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), `"org.opencontainers.image.ref.name": "v1.2.3"`) {
		t.Errorf("index.json has not the tag v1.2.3:\n%s", index)
	}
}
