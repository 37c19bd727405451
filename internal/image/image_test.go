package image

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestTwoBuildsGiveTheSameBytes(t *testing.T) {
	a, b := buildTestImage(t), buildTestImage(t)
	if a.Digest != b.Digest {
		t.Errorf("digests differ: %s and %s", a.Digest, b.Digest)
	}
	ta, err := os.ReadFile(a.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(b.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ta, tb) {
		t.Errorf("%s and %s differ", a.Tarball, b.Tarball)
	}
	if diff := cmp.Diff(readTree(t, a.Layout), readTree(t, b.Layout)); diff != "" {
		t.Errorf("the two OCI layouts differ (-first +second):\n%s", diff)
	}

	// Another time is another image: the times come from Created only.
	o := testOptions(t)
	o.Created = o.Created.Add(1e9)
	img, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d == a.Digest {
		t.Errorf("an image created a second later has the same digest %s", d)
	}
}

func TestImageRunsKubesnapAsNonroot(t *testing.T) {
	w := buildTestImage(t)
	fromLayout := readLayout(t, w.Layout)
	fromTarball, err := tarball.ImageFromPath(w.Tarball, ptr(mustTag(t, Repository+":"+testVersion)))
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]v1.Image{"layout": fromLayout, "tarball": fromTarball} {
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if name == "layout" && d != w.Digest {
			t.Errorf("layout: digest %s, Write said %s", d, w.Digest)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		want := v1.Config{
			User:       "65532:65532",
			Entrypoint: []string{"/usr/local/bin/kubesnap"},
			Cmd:        []string{"--help"},
			WorkingDir: "/home/nonroot",
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
			Labels: map[string]string{
				"org.opencontainers.image.title":       "kubesnap",
				"org.opencontainers.image.description": "Keep a Kubernetes cluster's whole state in git: snapshot, review, restore",
				"org.opencontainers.image.source":      "https://github.com/kubesnap/kubesnap",
				"org.opencontainers.image.version":     testVersion,
				"org.opencontainers.image.revision":    testRevision,
			},
		}
		if diff := cmp.Diff(want, cf.Config); diff != "" {
			t.Errorf("%s: config (-want +got):\n%s", name, diff)
		}
		if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Equal(testCreated) {
			t.Errorf("%s: %s/%s created %v, want linux/%s created %v", name, cf.OS, cf.Architecture, cf.Created, runtime.GOARCH, testCreated)
		}
		for _, h := range cf.History {
			if !h.Created.Equal(testCreated) {
				t.Errorf("%s: history %q created %v, want %v", name, h.CreatedBy, h.Created, testCreated)
			}
		}
	}
	if mt, _ := fromLayout.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
	}
}

func TestLayerHoldsTheFilesAndNoShell(t *testing.T) {
	w := buildTestImage(t)
	entries := layerEntries(t, readLayout(t, w.Layout))
	type file struct {
		Name     string
		Type     byte
		Mode     int64
		Uid, Gid int
	}
	var got []file
	for _, e := range entries {
		got = append(got, file{e.hdr.Name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid})
		if !e.hdr.ModTime.Equal(testCreated) {
			t.Errorf("%s: time %v, want %v", e.hdr.Name, e.hdr.ModTime, testCreated)
		}
		if strings.HasSuffix(e.hdr.Name, "/sh") || strings.HasPrefix(e.hdr.Name, "bin/") {
			t.Errorf("the image holds %s", e.hdr.Name)
		}
	}
	dir, reg := byte(tar.TypeDir), byte(tar.TypeReg)
	want := []file{
		{"etc/", dir, 0o755, 0, 0},
		{"etc/group", reg, 0o644, 0, 0},
		{"etc/passwd", reg, 0o644, 0, 0},
		{"etc/ssl/", dir, 0o755, 0, 0},
		{"etc/ssl/certs/", dir, 0o755, 0, 0},
		{"etc/ssl/certs/ca-certificates.crt", reg, 0o644, 0, 0},
		{"home/", dir, 0o755, 0, 0},
		{"home/nonroot/", dir, 0o700, 65532, 65532},
		{"tmp/", dir, 0o1777, 0, 0},
		{"usr/", dir, 0o755, 0, 0},
		{"usr/local/", dir, 0o755, 0, 0},
		{"usr/local/bin/", dir, 0o755, 0, 0},
		{"usr/local/bin/kubesnap", reg, 0o755, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("layer (-want +got):\n%s", diff)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		files[e.hdr.Name] = e.data
	}
	if !strings.Contains(string(files["etc/passwd"]), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("etc/passwd has no nonroot:\n%s", files["etc/passwd"])
	}
	if !strings.Contains(string(files["etc/group"]), "\nnonroot:x:65532:\n") {
		t.Errorf("etc/group has no nonroot:\n%s", files["etc/group"])
	}
	certs, err := os.ReadFile(CACertsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"], certs) {
		t.Errorf("the image's CA bundle is not %s", CACertsPath)
	}
	built, err := os.ReadFile(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["usr/local/bin/kubesnap"], built) {
		t.Errorf("usr/local/bin/kubesnap is not the binary built")
	}
}

// The binary taken out of the image says the version and commit it was
// linked with, and was built as make image promises.
func TestBinaryInTheImageSaysItsVersion(t *testing.T) {
	w := buildTestImage(t)
	var bin []byte
	for _, e := range layerEntries(t, readLayout(t, w.Layout)) {
		if e.hdr.Name == "usr/local/bin/kubesnap" {
			bin = e.data
		}
	}
	path := filepath.Join(t.TempDir(), "kubesnap")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), path, "version", "-o", "json")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubesnap version: %v", err)
	}
	var got struct{ Version, Commit, GoVersion, Platform string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("kubesnap version -o json: %v\n%s", err, out)
	}
	if got.Version != testVersion || got.Commit != testRevision || got.Platform != "linux/"+runtime.GOARCH || got.GoVersion == "" {
		t.Errorf("kubesnap version -o json = %+v, want version %s, commit %s, platform linux/%s", got, testVersion, testRevision, runtime.GOARCH)
	}

	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
		if strings.HasPrefix(s.Key, "vcs") {
			t.Errorf("build setting %s=%s: the clone's state is in the binary", s.Key, s.Value)
		}
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "-tags": "timetzdata", "GOOS": "linux"} {
		if settings[k] != v {
			t.Errorf("build setting %s=%q, want %q", k, settings[k], v)
		}
	}
	// -trimpath: no path of this machine is in the binary.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(wd))
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, strings.TrimSpace(string(modcache))} {
		if bytes.Contains(bin, []byte(p)) {
			t.Errorf("the binary holds the build path %s", p)
		}
	}
}

func ptr[T any](v T) *T { return &v }
