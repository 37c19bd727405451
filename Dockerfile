# syntax=docker/dockerfile:1
#
# The kubesnap image, for deploy/ (kubesnap watch in a cluster).
#
#   docker build -t ghcr.io/kubesnap/kubesnap:dev .
#
# It lives at the repository root because its build context must be the
# whole module (go.mod, every package); deploy/ holds only manifests.
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/kubesnap ./cmd/kubesnap

# Static binary, no shell, CA certificates (HTTPS remotes) and tzdata
# included, user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kubesnap /usr/local/bin/kubesnap
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubesnap"]
CMD ["--help"]
