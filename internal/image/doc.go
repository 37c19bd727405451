// Package image builds kubesnap's container image in Go, with
// go-containerregistry: no base image, no container daemon, no registry.
//
// The image holds one layer:
//
//	/etc/group, /etc/passwd            root, nobody and nonroot (65532)
//	/etc/ssl/certs/ca-certificates.crt the build machine's CA bundle (Debian's ca-certificates)
//	/home/nonroot/                     nonroot's home and working folder, owned by 65532
//	/tmp/                              1777
//	/usr/local/bin/kubesnap            static (CGO_ENABLED=0), built with -trimpath
//
// and no shell. It runs as 65532:65532 with the entrypoint
// /usr/local/bin/kubesnap and the arguments --help. The Dockerfile at the
// root of the module describes the same image; a test holds them together.
//
// The same inputs give the same bytes: every time in the image (file
// times, the config's created time, the history) is SOURCE_DATE_EPOCH, the
// tar entries are sorted with fixed owners and modes, gzip writes no time
// or name, and the binary is built with -trimpath and -buildvcs=false (its
// version and commit come from -ldflags, not from the state of the clone).
// Build writes an OCI image layout and a tarball that docker load reads.
package image
