// Command krew packs kubectl-snap for krew, kubectl's plugin manager: an
// archive per platform and the plugin manifest that names them. make krew
// builds the binaries and runs it:
//
//	go run ./internal/krew -version v0.1.0 -dir bin/krew \
//	    -template deploy/krew/snap.yaml.tmpl -platforms linux/amd64,darwin/arm64
//
// It reads DIR/OS-ARCH/kubectl-snap for each platform, writes
// DIR/kubectl-snap_VERSION_OS_ARCH.tar.gz (kubectl-snap, and LICENSE when
// -license names a file that exists) and DIR/snap.yaml, the template
// filled with the version and each platform's archive, its sha256 and its
// files. The archives are the same bytes for the same binaries: entries in
// a fixed order, no owner, no time.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// bin is the plugin's executable: kubectl runs it for kubectl snap.
const bin = "kubectl-snap"

// options are the flags.
type options struct {
	version, dir, template, license string
	platforms                       []string
}

// platform is one archive, as the template reads it.
type platform struct {
	OS, Arch string
	Archive  string   // its file name
	SHA256   string   // of the archive
	Files    []string // in the archive
}

// semver is the version krew takes: v, then major.minor.patch, then
// what semantic versioning allows.
var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.version, "version", "", "the plugin's version, v1.2.3")
	flag.StringVar(&o.dir, "dir", "bin/krew", "folder holding OS-ARCH/"+bin+", where archives and snap.yaml go")
	flag.StringVar(&o.template, "template", "deploy/krew/snap.yaml.tmpl", "the manifest's template")
	flag.StringVar(&o.license, "license", "LICENSE", "a file every archive holds beside "+bin+", when it exists")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64", "OS/ARCH, comma-separated")
	flag.Parse()
	o.platforms = strings.Split(platforms, ",")
	manifest, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
	fmt.Println(manifest)
}

// run writes the archives and the manifest, and returns the manifest's
// path.
func run(o options) (string, error) {
	if !semver.MatchString(o.version) {
		return "", fmt.Errorf("-version %q: krew wants a semantic version with a v: v1.2.3", o.version)
	}
	tmpl, err := template.ParseFiles(o.template)
	if err != nil {
		return "", err
	}
	var extra []string
	if _, err := os.Stat(o.license); err == nil {
		extra = append(extra, o.license)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var ps []platform
	for _, p := range o.platforms {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" || strings.ContainsAny(goos+goarch, `/\.`) {
			return "", fmt.Errorf("-platforms: %q is not OS/ARCH (linux/amd64)", p)
		}
		pl := platform{OS: goos, Arch: goarch, Archive: fmt.Sprintf("%s_%s_%s_%s.tar.gz", bin, o.version, goos, goarch)}
		files := append([]string{filepath.Join(o.dir, goos+"-"+goarch, bin)}, extra...)
		data, err := archive(files)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if err := os.WriteFile(filepath.Join(o.dir, pl.Archive), data, 0o644); err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		pl.SHA256 = hex.EncodeToString(sum[:])
		for _, f := range files {
			pl.Files = append(pl.Files, filepath.Base(f))
		}
		ps = append(ps, pl)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct {
		Version   string
		Platforms []platform
	}{o.version, ps}); err != nil {
		return "", err
	}
	manifest := filepath.Join(o.dir, "snap.yaml")
	return manifest, os.WriteFile(manifest, out.Bytes(), 0o644)
}

// archive is a gzipped tar of files, each at the top under its base name:
// the first one executable, the others not.
func archive(files []string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf) // no name, no time in the header
	tw := tar.NewWriter(gz)
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mode := int64(0o644)
		if i == 0 {
			mode = 0o755
		}
		h := &tar.Header{Name: filepath.Base(f), Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, bytes.NewReader(data)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
