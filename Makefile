# vmcore-report: `make run` builds the web app and serves it; `make test` runs
# everything, building the real-dump fixtures first when they are missing.
GO ?= go
export GOFLAGS ?= -mod=readonly

.PHONY: all build test unit fixtures bench wasm run web vet fmt clean coverage

all: build

build:
	$(GO) build ./...

# Real crash dumps with ground truth (about 2 minutes for both kernels here;
# cached under ~/.cache/vmcore-report, keyed by a hash of testdata/gen).
fixtures:
	bash testdata/gen/mkfixtures.sh

test: fixtures vet wasm
	$(GO) test -count=1 -timeout 60m ./...

# Tests without real dumps (those skip when fixtures are absent).
unit:
	$(GO) test ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...

# The core must stay buildable for the browser.
wasm:
	GOOS=js GOARCH=wasm $(GO) build ./kernel/... ./internal/... ./emitters/ ./report/

# docs/coverage.md is generated from the emitter registry (a test fails when stale).
coverage:
	$(GO) generate ./report

bench: fixtures
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 60m ./kernel/...

# The browser app: web/dist (wasm, wasm_exec.js, assets) served by cmd/devserver.
web:
	@echo "web/dist is not built yet: the browser analyzer is issue 7"; exit 1

run: web
	$(GO) run ./cmd/devserver

clean:
	rm -rf web/dist bin
