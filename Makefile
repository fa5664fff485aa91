# vmcore-report: `make run` builds the web app and serves it; `make test` runs
# everything, building the real-dump fixtures first when they are missing.
GO ?= go
export GOFLAGS ?= -mod=readonly

.PHONY: all build test unit fixtures bench bench-fixtures wasm run web vet coverage clean browser-test browser-bench mutation

all: build

build:
	$(GO) build ./...

# Real crash dumps with ground truth (about 2 minutes for both kernels here,
# 5 from nothing; cached under ~/.cache/vmcore-report, keyed by a hash of
# testdata/gen).
fixtures:
	bash testdata/gen/mkfixtures.sh

test: fixtures vet wasm
	$(GO) test -count=1 -timeout 60m ./...
	$(MAKE) browser-test

# Tests without real dumps (those skip when fixtures are absent).
unit:
	$(GO) test ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...

# The core must stay buildable for the browser.
wasm:
	GOOS=js GOARCH=wasm $(GO) build ./kernel/... ./internal/... ./emitters/ ./report/ ./wasm/

# docs/coverage.md is generated from the emitter registry (a test fails when stale).
coverage:
	$(GO) generate ./report

# The many-tasks set (issue 18), for benchmarks only: not part of `make test`.
bench-fixtures: fixtures
	FIXTURE_KERNELS=bookworm-6.1 FIXTURE_SCENARIOS=many bash testdata/gen/mkfixtures.sh

bench: fixtures bench-fixtures
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 60m ./kernel/... ./report/ ./wasm/

# The mutation check: every output broken on purpose (emitters/mutation_test.go),
# whole (TestMutations) and one number at a time, 10 % too large and 0
# (TestMutationSweep), on every set (kernels and kdump scenarios); prints both
# scores and fails when a rule accepted a broken output or failed an unbroken
# one.
mutation: fixtures
	@VMCORE_REPORT_MUTATION=1 $(GO) test -count=1 -timeout 30m -run '^(TestMutations|TestMutationSweep)$$' -v ./emitters/ 2>&1 | \
		grep -E 'MISSED|BASELINE FAILED|mutation score|sweep score' | sed 's/^ *mutation_test.go:[0-9]*: //' | tee /tmp/vmcore-report-mutation.txt
	@! grep -qE 'MISSED|BASELINE FAILED' /tmp/vmcore-report-mutation.txt

# The browser app: web/dist (main.wasm, wasm_exec.js, assets; each also .br and .gz).
web:
	$(GO) run ./cmd/buildweb

# With the fixtures built, the page offers the 6.1 dump as a sample.
run: web
	eval "$(GO) run ./cmd/devserver $$($(GO) run ./tests/browser/fixturepaths -sample)"

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# End to end in Debian's chromium (playwright-core); screenshots in tests/browser/artifacts/.
browser-test: fixtures web node_modules/.package-lock.json
	node --test tests/browser/

# Time to a finished report and peak wasm memory in Chromium (not a test).
browser-bench: fixtures bench-fixtures web node_modules/.package-lock.json
	node tests/browser/bench.mjs

clean:
	rm -rf web/dist bin node_modules
