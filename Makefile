# peerjail: `make build`, `make test` (what CI runs), `make bench`, `make fuzz`.
GO      ?= go
BIN     := bin/peerjail
PKGS    := ./...
STATICCHECK_VERSION := v0.8.2

.PHONY: build test lint unit race bench fuzz clean sample demo

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/peerjail

# test: formatting, vet, staticcheck, then the unit tests (the race detector
# on the packages that run goroutines).
test: lint unit race

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -count=1 -race ./internal/pipeline/ ./internal/timestamp/ ./internal/replay/ ./internal/daemon/ ./internal/control/ ./internal/source/

# bench: replay throughput and memory on 1M-line corpora, correctness against
# the generator's ground truth, and fail2ban-regex side by side when installed.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/filter/ ./internal/jail/ ./internal/timestamp/ ./internal/addr/
	scripts/bench.sh
	scripts/daemon-bench.sh

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
