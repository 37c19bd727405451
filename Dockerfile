# syntax=docker/dockerfile:1
#
# The kubesnap image, for deploy/ (kubesnap watch in a cluster).
#
#   docker build -t ghcr.io/kubesnap/kubesnap:dev \
#     --build-arg VERSION=$(git describe --tags --always --dirty) --build-arg REVISION=$(git rev-parse HEAD) .
#
# make image builds the same image without docker (internal/image), and
# reproducibly: same files, user, entrypoint, labels and build flags, which
# a test (internal/image TestDockerfileDescribesTheSameImage) compares. The
# base's own files (distroless: tzdata, os-release) are the difference; the
# binary carries its time zone database (-tags timetzdata) in both.
#
# It lives at the repository root because its build context must be the
# whole module (go.mod, every package); deploy/ holds only manifests.
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -tags timetzdata \
      -ldflags "-s -w -X main.version=$VERSION -X main.revision=$REVISION" \
      -o /out/kubesnap ./cmd/kubesnap

# Static binary, no shell, CA certificates (HTTPS remotes) and tzdata
# included, user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
COPY --from=build /out/kubesnap /usr/local/bin/kubesnap
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubesnap"]
CMD ["--help"]
LABEL org.opencontainers.image.title="kubesnap" \
      org.opencontainers.image.description="Keep a Kubernetes cluster's whole state in git: snapshot, review, restore" \
      org.opencontainers.image.source="https://github.com/kubesnap/kubesnap" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
