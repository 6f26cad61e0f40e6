# gpuplane — build, test and demo entry points. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
export GPUPLANE_BIN_DIR ?= $(BIN)

# Packages of the pure core: race-tested on every `make test`.
CORE_PKGS := ./pkg/gpuspec/... ./pkg/catalog/... ./pkg/placement/... ./pkg/api/...
FUZZTIME ?= 30s
E2E_TIMEOUT ?= 40m

.PHONY: help build test unit race e2e vet fmt lint bench fuzz demo cluster tools kubectl clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build the three programs into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

test: vet race unit e2e ## every test: vet, race on the core, unit, end-to-end

vet: ## go vet, also over the e2e build tag
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...

race: ## the pure core under the race detector
	$(GO) test -race -count=1 $(CORE_PKGS)

unit: ## every unit test (no control plane)
	$(GO) test -count=1 ./...

e2e: tools ## end-to-end tests on a real local control plane
	$(GO) test -count=1 -tags e2e -timeout $(E2E_TIMEOUT) ./test/...

fmt: ## gofmt the tree
	gofmt -s -w $$(git ls-files '*.go')

lint: vet ## gofmt check and vet
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: ## the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean: ## remove built binaries
	rm -rf $(BIN)

-include hack/*.mk
