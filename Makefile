# opencrvs-mosip: `make help` lists the targets. CI runs `make test`.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
BIN := bin/opencrvs-mosip
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The build date is SOURCE_DATE_EPOCH's when set (reproducible builds).
BUILD_DATE ?= $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X opencrvs-mosip/internal/cli.Version=$(VERSION) -X opencrvs-mosip/internal/cli.Commit=$(COMMIT) -X opencrvs-mosip/internal/cli.BuildDate=$(BUILD_DATE)
# `make release` builds one static binary per platform (GOOS/GOARCH).
PLATFORMS ?= linux/amd64 linux/arm64

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-20s %s\n", $$1, $$2}'

.PHONY: dev
dev: ## run the mediator and both simulators on this machine (SQLite under ./data)
	$(GO) run ./cmd/opencrvs-mosip dev

.PHONY: build
build: ## build bin/opencrvs-mosip
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/opencrvs-mosip

.PHONY: release
release: ## static binaries for PLATFORMS (linux/amd64 linux/arm64) in dist/, with version, commit, date and dist/SHA256SUMS
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "build dist/opencrvs-mosip-$$os-$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" \
			-o dist/opencrvs-mosip-$$os-$$arch ./cmd/opencrvs-mosip; \
	done
	cd dist && sha256sum opencrvs-mosip-* > SHA256SUMS

.PHONY: release-check
release-check: ## check dist/: checksums, static executables of the right architecture that print this VERSION and COMMIT
	cd dist && sha256sum --check --strict SHA256SUMS
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; bin=dist/opencrvs-mosip-$$os-$$arch; \
		case $$arch in amd64) elf='x86-64' qemu=qemu-x86_64-static;; arm64) elf='ARM aarch64' qemu=qemu-aarch64-static;; *) echo "$$bin: unknown architecture"; exit 1;; esac; \
		info=$$(file -b $$bin); echo "$$bin: $$info"; \
		case "$$info" in *"$$elf"*"statically linked"*) ;; *) echo "$$bin is not a static $$elf executable"; exit 1;; esac; \
		run=""; \
		if [ "$$arch" != "$$($(GO) env GOHOSTARCH)" ]; then \
			run=$$(command -v $$qemu || true); \
			if [ -z "$$run" ]; then echo "$$bin: no $$qemu here; checked its ELF header only"; continue; fi; \
		fi; \
		out=$$($$run $$bin version); echo "$$bin version: $$out"; \
		case "$$out" in "opencrvs-mosip $(VERSION) (commit $(COMMIT), built "*) ;; *) echo "$$bin does not print version $(VERSION) and commit $(COMMIT)"; exit 1;; esac; \
	done

HELM ?= bin/helm
HELM_VERSION ?= v3.22.0
CHART := deploy/helm/opencrvs-mosip
# The chart needs Kubernetes 1.25 or later; helm template assumes 1.20 without a cluster.
HELM_KUBE ?= --kube-version 1.30.0

$(HELM):
	GOBIN=$(abspath $(dir $(HELM))) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

.PHONY: helm-check
helm-check: $(HELM) ## helm lint and helm template the chart with each of its ci/*-values.yaml; a split role without its settings must fail
	$(HELM) lint --strict $(HELM_KUBE) $(CHART)
	@set -e; for f in $(CHART)/ci/*-values.yaml; do \
		echo "helm lint + template --values $$f"; \
		$(HELM) lint --strict $(HELM_KUBE) $(CHART) --values $$f; \
		$(HELM) template check $(HELM_KUBE) $(CHART) --values $$f > /dev/null; \
	done
	@set -e; for role in opencrvs-side mosip-side; do \
		if out=$$($(HELM) template check $(HELM_KUBE) $(CHART) --set role=$$role 2>&1); then echo "role=$$role rendered without its settings; it must fail"; exit 1; fi; \
		echo "$$out" | grep -q "role $$role needs envelope.privateKey.secretName" || { echo "role=$$role failed without the expected message: $$out"; exit 1; }; \
		echo "role=$$role without its settings fails as it should"; \
	done
	@if $(HELM) template check $(HELM_KUBE) $(CHART) --set replicaCount=2 >/dev/null 2>&1; then echo "2 replicas on SQLite rendered; it must fail"; exit 1; fi
	@echo "replicaCount=2 on SQLite fails as it should"

.PHONY: test
test: lint ## lint, then every test with the race detector (includes the end-to-end tests)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

.PHONY: lint
lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './data/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: e2e
e2e: ## only the end-to-end tests (real mediator and both simulators on 127.0.0.1)
	$(GO) test -race -count=1 -run 'E2E' -v ./internal/app/

.PHONY: crash-test
RECORDS ?= 2000
KILLS ?= 5
SEED ?= 0
crash-test: build ## run serve as a child, SIGKILL it KILLS times (5) while RECORDS records (2000) go through; none lost or confirmed twice (SEED to replay)
	$(GO) build -o bin/crashtest ./cmd/crashtest
	bin/crashtest -bin $(BIN) -records $(RECORDS) -kills $(KILLS) -seed $(SEED)

.PHONY: crash-test-replicas
REPLICAS ?= 3
crash-test-replicas: build ## crash-test with REPLICAS (3) serve processes on one PostgreSQL (a database of its own on TEST_DATABASE_URL's server); each kill takes one, restarted
	@test -n "$(TEST_DATABASE_URL)" || { echo "TEST_DATABASE_URL is not set: a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 1; }
	$(GO) build -o bin/crashtest ./cmd/crashtest
	bin/crashtest -bin $(BIN) -records $(RECORDS) -kills $(KILLS) -seed $(SEED) -replicas $(REPLICAS) -database-url '$(TEST_DATABASE_URL)'

.PHONY: fuzz
fuzz: ## fuzz each parser of outside input for FUZZTIME (default 30s each)
	@$(GO) list -f '{{.ImportPath}}' $(PKGS) | while read -r pkg; do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
		done; \
	done

.PHONY: bench
bench: ## Go benchmarks (the end-to-end figures come from `load`, see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
