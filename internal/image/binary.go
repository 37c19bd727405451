package image

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Package is the import path of the kubesnap command.
const Package = "github.com/kubesnap/kubesnap/cmd/kubesnap"

// machines are the architectures the image can be built for, with their
// ELF machine.
var machines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// BinaryOptions say how to build kubesnap for the image.
type BinaryOptions struct {
	// Go is the go command (default "go").
	Go string
	// Arch is the GOARCH to build for (default amd64).
	Arch string
	// Version and Commit are linked in as main.version and main.revision.
	Version, Commit string
	// Out is the file to write.
	Out string
}

// BuildArgs are the arguments of go build for o: a static binary
// (CGO_ENABLED=0 in its environment), without the build's paths
// (-trimpath) or the clone's state (-buildvcs=false: an untracked file
// would change the binary; the version and commit come from -ldflags),
// stripped, with the time zone database (no /usr/share/zoneinfo in the
// image; --schedule 'CRON_TZ=Europe/Paris …' needs it).
func BuildArgs(o BinaryOptions) []string {
	ldflags := "-s -w -X main.version=" + o.Version + " -X main.revision=" + o.Commit
	return []string{"build", "-trimpath", "-buildvcs=false", "-tags", "timetzdata", "-ldflags", ldflags, "-o", o.Out, Package}
}

// BuildBinary builds kubesnap for linux/o.Arch with BuildArgs, from the
// module the current folder is in. Two builds of the same source with the
// same Go give the same bytes.
func BuildBinary(ctx context.Context, o BinaryOptions) error {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if _, ok := machines[o.Arch]; !ok {
		return fmt.Errorf("architecture %q: use one of %s", o.Arch, archList())
	}
	if err := checkLabel("version", o.Version); err != nil {
		return err
	}
	if err := checkLabel("commit", o.Commit); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, o.Go, BuildArgs(o)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		if out = bytes.TrimSpace(out); len(out) > 0 {
			// The compiler's own lines, after ours.
			return fmt.Errorf("go build %s for linux/%s: %w\n%s", Package, o.Arch, err, out)
		}
		return fmt.Errorf("go build %s for linux/%s: %w", Package, o.Arch, err)
	}
	return nil
}

// readBinary reads the kubesnap binary and checks that it is a static
// executable for arch: the image has no dynamic loader nor libc.
func readBinary(path, arch string) ([]byte, error) {
	want, ok := machines[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %q: use one of %s", arch, archList())
	}
	if path == "" {
		return nil, errors.New("no kubesnap binary given")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kubesnap binary %s not found: build it first (make image does)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read kubesnap binary: %w", err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("kubesnap binary %s is not a Linux executable (build with GOOS=linux)", path)
	}
	if f.Machine != want {
		return nil, fmt.Errorf("kubesnap binary %s is for %s, not %s (build with GOARCH=%s)", path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("kubesnap binary %s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return data, nil
}

func archList() string {
	return strings.Join(slices.Sorted(maps.Keys(machines)), ", ")
}
