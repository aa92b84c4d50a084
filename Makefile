# peerjail: `make build`, `make test` (what CI runs), `make bench`,
# `make bench-compare`, `make fuzz`.
GO      ?= go
BIN     := bin/peerjail
PKGS    := ./...
STATICCHECK_VERSION := v0.8.2

.PHONY: build test lint unit race bench bench-compare fuzz clean sample demo

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/peerjail

# test: formatting, vet, staticcheck, then the unit tests (the race detector
# on the packages that run goroutines).
test: lint unit race

# lint also fails when go.mod or go.sum are not what `go mod tidy` makes of
# them (it considers every build tag, so tailcompare's nxadm/tail counts).
lint:
	$(GO) mod tidy -diff
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags tailcompare ./internal/source/
	GOEXPERIMENT=jsonv2 $(GO) vet ./internal/filter/
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -count=1 -race ./internal/pipeline/ ./internal/timestamp/ ./internal/replay/ ./internal/daemon/ ./internal/control/ ./internal/source/

# bench: replay throughput and memory on 1M-line corpora from
# scripts/gencorpus, correctness against its ground truth, fail2ban-regex
# side by side when it is on PATH, then the daemon against the kernel (root).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/filter/ ./internal/jail/ ./internal/timestamp/ ./internal/addr/
	scripts/bench.sh
	scripts/daemon-bench.sh

# bench-compare: each hand-written part against the library it replaces, at
# the level the product uses it: the JSON filter against encoding/json (and
# encoding/json/v2, an experiment in Go 1.26), the regex filters on rematch
# against regexp, the file follower against nxadm/tail under rotation.
bench-compare:
	$(GO) test -run '^$$' -bench 'Compare' -benchmem ./internal/filter/
	GOEXPERIMENT=jsonv2 $(GO) test -run '^$$' -bench 'CompareJSON' -benchmem ./internal/filter/
	$(GO) test -tags tailcompare -run '^$$' -bench 'TailCompare' -benchtime 3x ./internal/source/

# fuzz: every fuzz target for FUZZTIME each (long runs are for humans, not CI).
FUZZTIME ?= 60s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin

# sample: the README's main job: replay the shipped go-libp2p sample.
sample: build
	$(BIN) replay -c examples/replay.yaml examples/ipfs.log.gz

# demo: the daemon end to end in two network namespaces it creates (root).
demo: build
	scripts/demo.sh
