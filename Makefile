# opencrvs-mosip: `make help` lists the targets. CI runs `make test`.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
BIN := bin/opencrvs-mosip
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: dev
dev: ## run the mediator and both simulators on this machine (SQLite under ./data)
	$(GO) run ./cmd/opencrvs-mosip dev

.PHONY: build
build: ## build bin/opencrvs-mosip
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X opencrvs-mosip/internal/cli.Version=$(VERSION)" -o $(BIN) ./cmd/opencrvs-mosip

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
