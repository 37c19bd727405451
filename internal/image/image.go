package image

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image holds and how it runs. The Dockerfile says the same
// (TestDockerfileDescribesTheSameImage).
const (
	// Repository is the name the tarball is tagged with.
	Repository = "ghcr.io/kubesnap/kubesnap"
	// Source is the repository the image is built from (the
	// org.opencontainers.image.source label).
	Source = "https://github.com/kubesnap/kubesnap"
	// BinaryPath is where kubesnap is, and the entrypoint.
	BinaryPath = "/usr/local/bin/kubesnap"
	// CACertsPath is where the CA bundle is, in the image and (by
	// default) on the build machine, where Debian's ca-certificates puts it.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// User is the user and group the image runs as: nonroot.
	User = "65532:65532"
	// HomeDir is nonroot's home and the working folder.
	HomeDir = "/home/nonroot"

	nonroot = 65532
	// envPath is the PATH distroless images set (the Dockerfile's base).
	envPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Options are the inputs of an image: the same options give the same bytes.
type Options struct {
	// Binary is the path of a kubesnap built for linux/Arch, statically
	// (BuildBinary builds one).
	Binary string
	// CACerts is the CA bundle to copy in (default CACertsPath).
	CACerts string
	// Arch is the GOARCH the binary was built for (default amd64).
	Arch string
	// Version and Revision go into the labels; Version is also the tag.
	Version, Revision string
	// Created is every time in the image: SOURCE_DATE_EPOCH, the time
	// of the commit built.
	Created time.Time
}

// Config is the image's run configuration for a version and revision.
func Config(version, revision string) v1.Config {
	return v1.Config{
		User:       User,
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"--help"},
		WorkingDir: HomeDir,
		Env:        []string{"PATH=" + envPath, "SSL_CERT_FILE=" + CACertsPath},
		Labels:     Labels(version, revision),
	}
}

// Labels are the image's OCI annotations (labels in its config).
func Labels(version, revision string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "kubesnap",
		"org.opencontainers.image.description": "Keep a Kubernetes cluster's whole state in git: snapshot, review, restore",
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
	}
}

// Build makes the image from o; nothing is written. An error names the
// input that is wrong (a missing CA bundle, a binary that is not a static
// executable for o.Arch) and what to do.
func Build(o Options) (v1.Image, error) {
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.CACerts == "" {
		o.CACerts = CACertsPath
	}
	if err := checkLabel("version", o.Version); err != nil {
		return nil, err
	}
	if err := checkLabel("revision", o.Revision); err != nil {
		return nil, err
	}
	bin, err := readBinary(o.Binary, o.Arch)
	if err != nil {
		return nil, err
	}
	certs, err := readCACerts(o.CACerts)
	if err != nil {
		return nil, err
	}
	layer, err := rootLayer(o.Created, bin, certs)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "kubesnap internal/image: static kubesnap, CA certificates, user nonroot",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = o.Arch
	cf.OS = "linux"
	cf.Created = created
	cf.Config = Config(o.Version, o.Revision)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

const labelChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+"

// checkLabel refuses an empty value, or one with spaces, quotes or
// control characters: it goes into -ldflags, a label and a tag.
func checkLabel(what, v string) error {
	if v == "" {
		return fmt.Errorf("no %s given", what)
	}
	for _, r := range v {
		if !strings.ContainsRune(labelChars, r) {
			return fmt.Errorf("%s %q: use only letters, digits, '.', '_', '-' and '+'", what, v)
		}
	}
	return nil
}

// readCACerts reads the CA bundle and checks it holds certificates.
func readCACerts(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("CA certificates %s not found: install the package ca-certificates (apt-get install ca-certificates)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA certificates %s holds no PEM certificate: reinstall the package ca-certificates", path)
	}
	return data, nil
}

// file is one entry of the layer.
type file struct {
	name     string // without a leading slash; folders end in /
	mode     int64
	uid, gid int
	data     []byte
}

// rootLayer is the image's one layer: its files in name order, owned by
// root but for nonroot's home, each with the time created.
func rootLayer(created time.Time, bin, certs []byte) (v1.Layer, error) {
	files := []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CACertsPath[1:], mode: 0o644, data: certs},
		{name: "home/", mode: 0o755},
		{name: HomeDir[1:] + "/", mode: 0o700, uid: nonroot, gid: nonroot},
		{name: "tmp/", mode: 0o1777},
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: BinaryPath[1:], mode: 0o755, data: bin},
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.name,
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.gid,
			Uname:   userName(f.uid),
			Gname:   userName(f.gid),
			ModTime: created.UTC().Truncate(time.Second),
			Format:  tar.FormatUSTAR,
		}
		if f.name[len(f.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return layer, nil
}

func userName(id int) string {
	if id == nonroot {
		return "nonroot"
	}
	return "root"
}
