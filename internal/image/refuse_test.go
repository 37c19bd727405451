package image

import (
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// dynamicExecutable is an executable of this machine that needs the
// dynamic loader (Debian's true), or "" when there is none.
func dynamicExecutable(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/true", "/bin/true"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		defer func() { _ = f.Close() }()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				return p
			}
		}
	}
	return ""
}

func TestBuildRefusesBadInputs(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	empty := filepath.Join(dir, "empty.crt")
	for _, f := range []string{text, empty} {
		if err := os.WriteFile(f, []byte(strings.Repeat("not an executable\n", 10)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dynamic := dynamicExecutable(t)
	if dynamic == "" {
		t.Fatal("no dynamically linked /usr/bin/true on this machine to test with")
	}
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	base := Options{Binary: dynamic, Arch: runtime.GOARCH, Version: "v1", Revision: "abc", CACerts: CACertsPath}
	for _, c := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"a missing CA bundle names the package to install", func(o *Options) { o.CACerts = filepath.Join(dir, "none.crt"); o.Binary = testStatic(t) },
			"none.crt not found: install the package ca-certificates (apt-get install ca-certificates)"},
		{"a CA bundle without certificates is refused", func(o *Options) { o.CACerts = empty; o.Binary = testStatic(t) },
			"empty.crt holds no PEM certificate"},
		{"a missing binary", func(o *Options) { o.Binary = filepath.Join(dir, "none") }, "none not found: build it first"},
		{"a file that is not an executable", func(o *Options) { o.Binary = text }, "text is not a Linux executable"},
		{"an executable for another architecture", func(o *Options) { o.Arch = other }, "not " + other + " (build with GOARCH=" + other + ")"},
		{"a dynamically linked executable", func(*Options) {}, "is dynamically linked: build it with CGO_ENABLED=0"},
		{"an architecture the image is not built for", func(o *Options) { o.Arch = "mips" }, `architecture "mips": use one of 386, amd64, arm`},
		{"a version with a space", func(o *Options) { o.Version = "v1 -X main.revision=evil" }, `version "v1 -X main.revision=evil": use only letters`},
		{"no revision", func(o *Options) { o.Revision = "" }, "no revision given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.change(&o)
			_, err := Build(o)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Build: %v, want one line with %q", err, c.want)
			}
		})
	}
}

// testStatic is a static executable of this machine's architecture: the
// tests' kubesnap.
func testStatic(t *testing.T) string { return testBinary(t) }

func TestBuildBinaryRefusesBadInputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kubesnap")
	for _, c := range []struct {
		name string
		o    BinaryOptions
		want string
	}{
		{"an unknown architecture", BinaryOptions{Arch: "vax", Version: "v1", Commit: "abc", Out: out}, `architecture "vax"`},
		{"a commit that would add linker flags", BinaryOptions{Version: "v1", Commit: "abc -X main.version=evil", Out: out}, `commit "abc -X main.version=evil": use only`},
		{"a go command that does not exist", BinaryOptions{Go: filepath.Join(t.TempDir(), "nogo"), Version: "v1", Commit: "abc", Out: out}, "go build " + Package + " for linux/amd64: fork/exec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := BuildBinary(t.Context(), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("BuildBinary: %v, want one line with %q", err, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}

func TestWriteRefusesWhatItDidNotWrite(t *testing.T) {
	img := empty.Image
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the output folder
		want  string
		keep  string // a file that must still be there
	}{
		{"an output folder that is a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out")
			mustWrite(t, p, "mine")
			return p
		}, "is not a folder (a file or a link): remove it or choose another", "out"},
		{"an output folder under a file", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "file"), "mine")
			return filepath.Join(dir, "file", "out")
		}, "file/out: not a directory", "file"},
		{"an output folder that is a link to a folder", func(t *testing.T, dir string) string {
			mustMkdir(t, filepath.Join(dir, "elsewhere"))
			mustWrite(t, filepath.Join(dir, "elsewhere", "oci", "index.json"), "mine")
			if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "out")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "out")
		}, "is not a folder (a file or a link)", "elsewhere/oci/index.json"},
		{"an oci folder that is not a layout", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "out", "oci", "notes.txt"), "mine")
			return filepath.Join(dir, "out")
		}, "oci is not an OCI image layout this builder wrote: remove it or choose another output folder", "out/oci/notes.txt"},
		{"an oci link to a layout", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "layout", "oci-layout"), "mine")
			mustMkdir(t, filepath.Join(dir, "out"))
			if err := os.Symlink(filepath.Join(dir, "layout"), filepath.Join(dir, "out", "oci")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "out")
		}, "oci is not an OCI image layout this builder wrote", "layout/oci-layout"},
		{"a kubesnap.tar that is a folder", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "out", "kubesnap.tar", "notes.txt"), "mine")
			return filepath.Join(dir, "out")
		}, "kubesnap.tar is not a regular file", "out/kubesnap.tar/notes.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := c.setup(t, dir)
			_, err := Write(img, out, "v1")
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Write: %v, want one line with %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, c.keep)); err != nil {
				t.Errorf("%s is gone: %v", c.keep, err)
			}
			// Nothing half-written is left beside the output.
			if entries, err := os.ReadDir(out); err == nil {
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), ".") {
						t.Errorf("%s left in %s", e.Name(), out)
					}
				}
			}
		})
	}
}

func TestWriteRefusesAFolderItCannotWrite(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into a read-only folder")
	}
	out := filepath.Join(t.TempDir(), "out")
	mustMkdir(t, out)
	if err := os.Chmod(out, 0o555); err != nil {
		t.Fatal(err)
	}
	_, err := Write(empty.Image, out, "v1")
	if err == nil || !strings.Contains(err.Error(), "output folder "+out+": permission denied") {
		t.Errorf("Write: %v, want output folder %s: permission denied", err, out)
	}
}

func TestWriteRefusesATagDockerWouldNot(t *testing.T) {
	_, err := Write(empty.Image, t.TempDir(), "v1+build.5")
	if err == nil || !strings.Contains(err.Error(), `tag "v1+build.5"`) {
		t.Errorf("Write: %v, want the tag refused", err)
	}
}

// A second Write into the same folder leaves what a first Write of the
// same image into a new folder leaves: no blob of the image before.
func TestWriteReplacesItsOwnOutputWhole(t *testing.T) {
	before, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	after, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	reused, fresh := t.TempDir(), t.TempDir()
	if _, err := Write(before, reused, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(after, reused, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(after, fresh, "v1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readTree(t, fresh), readTree(t, reused)); diff != "" {
		t.Errorf("written again (-into a new folder +over the old image):\n%s", diff)
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
