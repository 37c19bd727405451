package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// manifest is the part of a krew Plugin the tests read.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// readManifest parses the manifest at p.
func readManifest(t *testing.T, p string) manifest {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s is not YAML: %v\n%s", p, err, data)
	}
	return m
}

// untar lists the entries of a gzipped tar, name → content and mode.
func untar(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b) + " " + os.FileMode(h.Mode).String()
	}
}

// checkManifest checks the manifest in dir against the archives beside
// it: one platform each, bin kubectl-snap, the sha256 of the archive the
// uri names.
func checkManifest(t *testing.T, dir, version string, platforms []string) manifest {
	t.Helper()
	m := readManifest(t, filepath.Join(dir, "snap.yaml"))
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "snap" || m.Spec.Version != version || m.Spec.ShortDescription == "" {
		t.Errorf("manifest: %+v", m)
	}
	var got []string
	for _, p := range m.Spec.Platforms {
		l := p.Selector.MatchLabels
		got = append(got, l["os"]+"/"+l["arch"])
		if p.Bin != bin {
			t.Errorf("%s: bin %q, want %s", got[len(got)-1], p.Bin, bin)
		}
		archive := bin + "_" + version + "_" + l["os"] + "_" + l["arch"] + ".tar.gz"
		if want := "https://github.com/kubesnap/kubesnap/releases/download/" + version + "/" + archive; p.URI != want {
			t.Errorf("uri %q, want %q", p.URI, want)
		}
		data, err := os.ReadFile(filepath.Join(dir, archive))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != p.SHA256 {
			t.Errorf("%s: sha256 %s is not the archive's", archive, p.SHA256)
		}
		entries := untar(t, data)
		for _, f := range p.Files {
			if _, ok := entries[f.From]; !ok || f.To != "." {
				t.Errorf("%s: files names %s → %s, the archive holds %v", archive, f.From, f.To, entries)
			}
		}
		if _, ok := entries[bin]; !ok || len(entries) != len(p.Files) {
			t.Errorf("%s holds %d entries, the manifest names %d", archive, len(entries), len(p.Files))
		}
	}
	if d := cmp.Diff(platforms, got); d != "" {
		t.Errorf("platforms (-want +got)\n%s", d)
	}
	return m
}

func TestRunWritesArchivesAndTheirManifest(t *testing.T) {
	dir := t.TempDir()
	platforms := []string{"linux/amd64", "darwin/arm64"}
	for _, p := range platforms {
		p = strings.ReplaceAll(p, "/", "-")
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p, bin), []byte("binary for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	license := filepath.Join(t.TempDir(), "LICENSE")
	if err := os.WriteFile(license, []byte("the license"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{version: "v1.2.3-rc.1", dir: dir, template: "../../deploy/krew/snap.yaml.tmpl", license: license, platforms: platforms}
	if _, err := run(o); err != nil {
		t.Fatal(err)
	}
	checkManifest(t, dir, o.version, platforms)
	archive := filepath.Join(dir, bin+"_v1.2.3-rc.1_darwin_arm64.tar.gz")
	first, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{bin: "binary for darwin-arm64 -rwxr-xr-x", "LICENSE": "the license -rw-r--r--"}
	if d := cmp.Diff(want, untar(t, first)); d != "" {
		t.Errorf("archive (-want +got)\n%s", d)
	}

	// The same binaries make the same archives.
	if _, err := run(o); err != nil {
		t.Fatal(err)
	}
	if again, err := os.ReadFile(archive); err != nil || !bytes.Equal(first, again) {
		t.Errorf("a second run wrote another archive (%v)", err)
	}

	// Without a license, the binary alone.
	o.license = filepath.Join(t.TempDir(), "none")
	if _, err := run(o); err != nil {
		t.Fatal(err)
	}
	checkManifest(t, dir, o.version, platforms)
}

func TestRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		o    options
		want string
	}{
		{"a version that is not semantic", options{version: "1.2", platforms: []string{"linux/amd64"}}, "semantic version"},
		{"a version from git describe", options{version: "v1.2.3-4-gabcdef-dirty", platforms: []string{"linux/amd64"}}, ""},
		{"a platform without an arch", options{version: "v1.0.0", platforms: []string{"linux"}}, "is not OS/ARCH"},
		{"a platform that leaves its folder", options{version: "v1.0.0", platforms: []string{"../x/amd64"}}, "is not OS/ARCH"},
		{"a binary not built", options{version: "v1.0.0", platforms: []string{"plan9/amd64"}}, "plan9/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.dir, tt.o.template, tt.o.license = dir, "../../deploy/krew/snap.yaml.tmpl", filepath.Join(dir, "none")
			_, err := run(tt.o)
			if tt.want == "" {
				// git describe's form is a valid semantic version (a
				// pre-release): refused only for want of a binary.
				if err == nil || strings.Contains(err.Error(), "semantic") {
					t.Errorf("run: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestMakeKrewAndInstall runs make krew for this machine's platform and
// make install, as a user would: the archive's kubectl-snap runs and
// calls itself kubectl snap, and install leaves the three names, none a
// symbolic link.
func TestMakeKrewAndInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kubesnap twice (-short)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	runMake := func(args ...string) {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-C", root}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	krew := t.TempDir()
	runMake("krew", "KREW_DIR="+krew, "KREW_PLATFORMS="+platform, "KREW_VERSION=v0.9.0")
	m := checkManifest(t, krew, "v0.9.0", []string{platform})
	entries := untar(t, mustRead(t, filepath.Join(krew, bin+"_v0.9.0_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")))
	if len(m.Spec.Platforms) != 1 || len(entries) != 1+boolInt(exists(filepath.Join(root, "LICENSE"))) {
		t.Errorf("archive entries %d", len(entries))
	}
	out, err := exec.Command(filepath.Join(krew, runtime.GOOS+"-"+runtime.GOARCH, bin), "diff", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubectl snap diff") {
		t.Errorf("the archived kubectl-snap diff --help: %v\n%s", err, out)
	}

	prefix := t.TempDir()
	runMake("install", "PREFIX="+prefix, "KUBESNAP_BIN="+filepath.Join(t.TempDir(), "kubesnap"))
	for _, name := range []string{"kubesnap", "kubectl-snap", "kubectl_complete-snap"} {
		p := filepath.Join(prefix, "bin", name)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: %v, mode %v; want an executable file", p, err, fi)
		}
	}
	out, err = exec.Command(filepath.Join(prefix, "bin", "kubectl-snap"), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubectl snap [command]") {
		t.Errorf("installed kubectl-snap --help: %v\n%s", err, out)
	}
	out, err = exec.Command(filepath.Join(prefix, "bin", "kubectl_complete-snap"), "diff", "-o", "").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "text\njson\nmarkdown\n:4\n") {
		t.Errorf("installed kubectl_complete-snap diff -o '': %v\n%s", err, out)
	}
	// Installing again replaces the three.
	runMake("install", "PREFIX="+prefix, "KUBESNAP_BIN="+filepath.Join(t.TempDir(), "kubesnap"))
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
