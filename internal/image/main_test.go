package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

const (
	testVersion  = "v0.0.0-test.1"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// testCreated is SOURCE_DATE_EPOCH in these tests.
var testCreated = time.Unix(1767225600, 0) // 2026-01-01

// The kubesnap binary the tests put in images, built once for this
// machine's architecture (it takes a while) into binDir.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testBinary builds kubesnap as make image does, once per test binary.
func testBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binError = os.MkdirTemp("", "kubesnap-image-test-")
		if binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "kubesnap")
		binError = BuildBinary(t.Context(), BinaryOptions{Arch: runtime.GOARCH, Version: testVersion, Commit: testRevision, Out: binPath})
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// testOptions are the options of the tests' image.
func testOptions(t *testing.T) Options {
	return Options{Binary: testBinary(t), Arch: runtime.GOARCH, Version: testVersion, Revision: testRevision, Created: testCreated}
}

// buildTestImage builds and writes the tests' image into a new folder.
func buildTestImage(t *testing.T) Written {
	t.Helper()
	img, err := Build(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Write(img, filepath.Join(t.TempDir(), "out"), testVersion)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// readLayout reads the one image of an OCI layout written by Write.
func readLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%s holds %d manifests, want 1", dir, len(m.Manifests))
	}
	if got := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("ref.name = %q, want %q", got, testVersion)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// entry is a layer's tar header, and the content of regular files.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// layerEntries reads the files of img's only layer, in their order.
func layerEntries(t *testing.T, img v1.Image) []entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr: h, data: data})
	}
}

// readTree reads every file under dir: relative path → mode and bytes.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = fmt.Sprintf("%v", info.Mode())
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("%v %s", info.Mode(), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
