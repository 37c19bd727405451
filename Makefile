# kubesnap's Makefile. Everything a fresh machine needs is built here from
# Go modules and cached outside the clone, keyed by version, so a second
# clone on the same machine reuses it.

GO           ?= go
KUBE_VERSION := v1.37.2
ETCD_VERSION := v3.6.16
LINT_VERSION := v2.15.0
SOPS_VERSION := v3.13.3

CACHE   := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)
BIN_DIR ?= $(CACHE)/kubesnap/bin
ETCD    := $(BIN_DIR)/etcd-$(ETCD_VERSION)/etcd
KUBE    := $(BIN_DIR)/kube-$(KUBE_VERSION)
KUBECTL := $(KUBE)/kubectl
LINT    := $(BIN_DIR)/golangci-lint-$(LINT_VERSION)/golangci-lint
SOPS    := $(BIN_DIR)/sops-$(SOPS_VERSION)/sops
export KUBESNAP_BIN_DIR := $(BIN_DIR)

KUBE_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/client-go/pkg/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37

.PHONY: all build image test unit bench bench-scale demo lint testbin fuzz clean

all: build

# What kubesnap version prints, and the image's labels and tag.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION_LDFLAGS := -X main.version=$(VERSION) -X main.revision=$(COMMIT)

build:
	$(GO) build -ldflags "$(VERSION_LDFLAGS)" -o bin/kubesnap ./cmd/kubesnap
	$(GO) build -o bin/controlplane ./internal/testenv/controlplane

## image: the watcher's image, built in Go without a daemon (internal/image):
## bin/image/oci (an OCI image layout) and bin/image/kubesnap.tar (docker load).
## linux/amd64, or GOARCH=arm64; the same commit gives the same bytes, every
## time in it being the commit's (SOURCE_DATE_EPOCH).
IMAGE_ARCH        := $(or $(GOARCH),amd64)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	GOOS= GOARCH= $(GO) run ./internal/image/cmd/kubesnap-image --go $(GO) --out bin/image --arch $(IMAGE_ARCH) \
		--version $(VERSION) --revision $(COMMIT) --source-date-epoch $(SOURCE_DATE_EPOCH)

## testbin: build etcd, kube-apiserver, kube-controller-manager, kubectl and sops (once)
testbin: $(ETCD) $(KUBE)/kube-apiserver $(SOPS)

$(ETCD):
	@echo ">> building etcd $(ETCD_VERSION) from its Go module into $(@D) (about a minute, once)"
	@rm -rf $(@D).tmp && mkdir -p $(@D).tmp
	cd internal/tools/etcd && $(GO) build -o $(@D).tmp/etcd go.etcd.io/etcd/server/v3
	@rm -rf $(@D) && mv $(@D).tmp $(@D)

$(KUBE)/kube-apiserver:
	@echo ">> building kube-apiserver, kube-controller-manager and kubectl $(KUBE_VERSION) from k8s.io/kubernetes"
	@echo ">> into $(KUBE): this takes 10-15 minutes the first time, and is cached after"
	@rm -rf $(KUBE).tmp && mkdir -p $(KUBE).tmp
	cd internal/tools/kube && $(GO) build -ldflags "$(KUBE_LDFLAGS)" -o $(KUBE).tmp/ \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl
	@rm -rf $(KUBE) && mv $(KUBE).tmp $(KUBE)

$(SOPS):
	@echo ">> building sops $(SOPS_VERSION) from its Go module into $(@D) (a minute or two, once)"
	@rm -rf $(@D).tmp && mkdir -p $(@D).tmp
	cd internal/tools/sops && $(GO) build -o $(@D).tmp/sops github.com/getsops/sops/v3/cmd/sops
	@rm -rf $(@D) && mv $(@D).tmp $(@D)

## test: unit and integration tests against a real control plane (never skipped)
test: testbin
	KUBESNAP_REQUIRE_CONTROL_PLANE=1 $(GO) test -count=1 -timeout 30m ./...

## unit: the tests that need no control plane
unit:
	$(GO) test -count=1 ./canonical/... ./sync/... ./diff/... ./restore/... ./internal/gitstore/... ./internal/sops/... ./internal/image/... ./internal/krew/...

## fuzz: run every fuzz target of the module for FUZZTIME each (default 20s),
## starting from the corpus kept under each package's testdata/fuzz
FUZZTIME ?= 20s
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo ">> fuzz $$dir $$f"; \
			$(GO) test $$dir -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s; \
		done; \
	done

## bench: snapshot benchmarks against a local control plane (see BENCHMARKS.md)
BENCH_OBJECTS ?= 10000
BENCH_COMMITS ?= 3000
bench: testbin
	KUBESNAP_REQUIRE_CONTROL_PLANE=1 KUBESNAP_BENCH_OBJECTS=$(BENCH_OBJECTS) \
		$(GO) test -count=1 -timeout 60m -run '^$$' -bench . -benchtime 3x ./internal/bench/
	KUBESNAP_BENCH_COMMITS=$(BENCH_COMMITS) \
		$(GO) test -count=1 -timeout 60m -run '^$$' -bench BenchmarkEndurance -benchtime 1x ./internal/gitstore/
	KUBESNAP_BENCH_COMMITS=$(BENCH_COMMITS) \
		$(GO) test -count=1 -timeout 60m -run '^$$' -bench BenchmarkHistory -benchtime 5x ./internal/gitstore/

## bench-scale: issue 17's scale figures, each with the same run's bare LIST, once
## each, at BENCH_SCALE_OBJECTS (300,000) cheap objects (mostly small ConfigMaps):
## the fill, bare LIST, first snapshot (time and peak RSS of the command),
## unchanged snapshot, watch ready time, RSS and one-change commit latency, diff.
## (-bench: each | alternative is a whole path; watch without rules only.)
BENCH_SCALE_OBJECTS ?= $(or $(KUBESNAP_BENCH_OBJECTS),300000)
BENCH_SCALE := BareList|SnapshotCommand|SnapshotUnchanged|WatchLatency/rules=0$$|Diff
bench-scale: testbin
	KUBESNAP_REQUIRE_CONTROL_PLANE=1 KUBESNAP_BENCH_OBJECTS=$(BENCH_SCALE_OBJECTS) KUBESNAP_BENCH_CHEAP=1 \
		$(GO) test -count=1 -timeout 240m -run '^$$' -bench '$(BENCH_SCALE)' -benchtime 1x ./internal/bench/

## demo: snapshot a local control plane running the examples, change one object, snapshot again
demo: testbin build
	KUBECTL=$(KUBECTL) ./examples/demo.sh

## lint: golangci-lint (gofmt, vet, staticcheck, depguard for ARCHITECTURE.md's import rules)
lint: $(LINT)
	$(LINT) run ./...

$(LINT):
	@echo ">> building golangci-lint $(LINT_VERSION) from its Go module (a few minutes, once)"
	GOBIN=$(@D) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(LINT_VERSION)

## install: kubesnap, and the same program as the kubectl plugin kubectl-snap
## and its completer kubectl_complete-snap (hard links, else copies), into
## BINDIR (default ~/.local/bin; make install PREFIX=/usr/local for /usr/local/bin)
PREFIX       ?= $(HOME)/.local
BINDIR       ?= $(PREFIX)/bin
KUBESNAP_BIN ?= bin/kubesnap
.PHONY: install krew
install:
	$(GO) build -ldflags "$(VERSION_LDFLAGS)" -o $(KUBESNAP_BIN) ./cmd/kubesnap
	mkdir -p $(DESTDIR)$(BINDIR)
	cp -f $(KUBESNAP_BIN) $(DESTDIR)$(BINDIR)/kubesnap.new && mv -f $(DESTDIR)$(BINDIR)/kubesnap.new $(DESTDIR)$(BINDIR)/kubesnap
	@set -e; for name in kubectl-snap kubectl_complete-snap; do \
		rm -f $(DESTDIR)$(BINDIR)/$$name; \
		ln $(DESTDIR)$(BINDIR)/kubesnap $(DESTDIR)$(BINDIR)/$$name 2>/dev/null || cp $(DESTDIR)$(BINDIR)/kubesnap $(DESTDIR)$(BINDIR)/$$name; \
	done
	@echo ">> installed kubesnap, kubectl-snap and kubectl_complete-snap in $(DESTDIR)$(BINDIR)"

## krew: the krew plugin manifest KREW_DIR/snap.yaml (from deploy/krew/snap.yaml.tmpl)
## and the archives it names, kubectl-snap built with CGO_ENABLED=0 for each of
## KREW_PLATFORMS; KREW_VERSION defaults to the tag v* at HEAD, else the file VERSION, else v0.0.0
KREW_DIR       ?= bin/krew
KREW_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
KREW_VERSION   ?= $(or $(shell git describe --tags --exact-match --match 'v*' 2>/dev/null),$(shell cat VERSION 2>/dev/null),v0.0.0)
krew:
	@set -e; for p in $(KREW_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo ">> building kubectl-snap for $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
			-ldflags "-s -w -X main.version=$(KREW_VERSION) -X main.revision=$(COMMIT)" \
			-o $(KREW_DIR)/$$os-$$arch/kubectl-snap ./cmd/kubesnap; \
	done
	$(GO) run ./internal/krew -version $(KREW_VERSION) -dir $(KREW_DIR) \
		-template deploy/krew/snap.yaml.tmpl -platforms "$(shell echo $(KREW_PLATFORMS) | tr ' ' ',')"

clean:
	rm -rf bin
