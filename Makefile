# peerjail: `make build`, `make test` (what CI runs), `make bench`,
# `make bench-compare`, `make fuzz`, `make install`, `make deb`.
GO      ?= go
BIN     := bin/peerjail
PKGS    := ./...
STATICCHECK_VERSION := v0.8.2
NFPM_VERSION        := v2.45.2

# The version and commit come from git (packaging/version.sh); the man pages'
# date is the commit's, so a build of one commit is the same every time.
VERSION ?= $(shell packaging/version.sh)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test lint rules unit race bench fuzz clean sample demo install uninstall deb package-test bench-compare

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/peerjail

# install: PREFIX for the program and its documentation, SYSCONFDIR for the
# configuration (the binary's default is /etc/peerjail/peerjail.yaml),
# DESTDIR for staging. An existing peerjail.yaml or default/peerjail is
# never overwritten. The unit goes where systemd looks for a PREFIX's units
# (/usr/local/lib/systemd/system for /usr/local), naming $(BINDIR)/peerjail.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/peerjail
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
UNIT_PATHS  := -e 's|/usr/local/bin/peerjail|$(BINDIR)/peerjail|g' \
	-e 's|/etc/peerjail/|$(SYSCONFDIR)/peerjail/|g' -e 's|/etc/default/peerjail|$(SYSCONFDIR)/default/peerjail|g'

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/peerjail $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/peerjail/jails.d
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/peerjail
	sed $(UNIT_PATHS) packaging/systemd/peerjail.service > $(DESTDIR)$(UNITDIR)/peerjail.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/peerjail.service
	rm -f $(DESTDIR)$(MANDIR)/man1/peerjail*.1
	$(BIN) gen-man $(DESTDIR)$(MANDIR)/man1
	$(BIN) completion bash > $(DESTDIR)$(BASHCOMPDIR)/peerjail
	$(BIN) completion zsh > $(DESTDIR)$(ZSHCOMPDIR)/_peerjail
	$(BIN) completion fish > $(DESTDIR)$(FISHCOMPDIR)/peerjail.fish
	install -m 0644 configs/peerjail.yaml $(DESTDIR)$(DOCDIR)/peerjail.yaml
	install -d $(DESTDIR)$(DOCDIR)/prometheus $(DESTDIR)$(DOCDIR)/grafana $(DESTDIR)$(DOCDIR)/alertmanager
	install -m 0644 configs/prometheus/peerjail.rules.yml configs/prometheus/peerjail.rules.test.yml $(DESTDIR)$(DOCDIR)/prometheus/
	install -m 0644 configs/grafana/peerjail.json $(DESTDIR)$(DOCDIR)/grafana/
	install -m 0644 configs/alertmanager/alertmanager.yml configs/alertmanager/README.md $(DESTDIR)$(DOCDIR)/alertmanager/
	test -e $(DESTDIR)$(SYSCONFDIR)/peerjail/peerjail.yaml || \
		sed $(UNIT_PATHS) configs/default.yaml > $(DESTDIR)$(SYSCONFDIR)/peerjail/peerjail.yaml
	test -e $(DESTDIR)$(SYSCONFDIR)/default/peerjail || \
		sed $(UNIT_PATHS) packaging/default.env > $(DESTDIR)$(SYSCONFDIR)/default/peerjail

# uninstall leaves the configuration and the state (/var/lib/peerjail).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/peerjail $(DESTDIR)$(UNITDIR)/peerjail.service $(DESTDIR)$(MANDIR)/man1/peerjail*.1 \
		$(DESTDIR)$(BASHCOMPDIR)/peerjail $(DESTDIR)$(ZSHCOMPDIR)/_peerjail $(DESTDIR)$(FISHCOMPDIR)/peerjail.fish \
		$(DESTDIR)$(DOCDIR)/peerjail.yaml
	rm -rf $(DESTDIR)$(DOCDIR)/prometheus $(DESTDIR)$(DOCDIR)/grafana $(DESTDIR)$(DOCDIR)/alertmanager

# deb: dist/peerjail_VERSION_ARCH.deb, the tree of `make install` for /usr
# packed by nfpm (packaging/nfpm.yaml) with Debian's paths and gzipped man
# pages. nfpm is pinned and run with go run: nothing to install. It takes
# the files' times from SOURCE_DATE_EPOCH: one commit makes one .deb, byte for byte.
DEBROOT := build/deb
deb: build
	rm -rf $(DEBROOT) dist/peerjail_*.deb && mkdir -p dist
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr \
		ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	gzip -9n $(DEBROOT)/usr/share/man/man1/*.1
	PEERJAIL_DEB_VERSION=$$(packaging/version.sh --deb) PEERJAIL_DEB_ARCH=$$($(GO) env GOARCH) \
		$(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) package \
		--config packaging/nfpm.yaml --packager deb --target dist/

# package-test: make install into a scratch DESTDIR; then, as root with dpkg,
# build the .deb, install it on this machine, check it, purge it. It never
# starts the service (packaging/test.sh says how).
package-test:
	packaging/test.sh

# test: formatting, vet, staticcheck, the alert rules, then the unit tests (the race detector
# on the packages that run goroutines), then the packaging test.
test: lint rules unit race package-test

# rules: the Prometheus alert rules checked and unit-tested by promtool
# (Debian's prometheus package; .ci/run installs it). The Go tests in
# configs/prometheus run the same and skip without promtool; this does not.
rules:
	promtool check rules configs/prometheus/peerjail.rules.yml
	cd configs/prometheus && promtool test rules peerjail.rules.test.yml

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
# against regexp, the file follower against nxadm/tail under rotation, the
# open-addressing indexes (identities, hosts, replay's tally) against the Go
# maps they replace, the address parsers against net/netip.
bench-compare:
	$(GO) test -run '^$$' -bench 'Compare' -benchmem ./internal/filter/
	GOEXPERIMENT=jsonv2 $(GO) test -run '^$$' -bench 'CompareJSON' -benchmem ./internal/filter/
	$(GO) test -tags tailcompare -run '^$$' -bench 'TailCompare' -benchtime 3x ./internal/source/
	$(GO) test -run '^$$' -bench 'Index' ./internal/correlate/
	$(GO) test -run '^$$' -bench 'AddrIndex' ./internal/jail/
	$(GO) test -run '^$$' -bench 'AddrTally' ./internal/pipeline/
	$(GO) test -run '^$$' -bench 'ParseIPv[46]' -benchmem ./internal/addr/

# fuzz: every fuzz target for FUZZTIME each (long runs are for humans, not CI).
FUZZTIME ?= 60s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin build dist

# sample: the README's main job: replay the shipped go-libp2p sample.
sample: build
	$(BIN) replay -c examples/replay.yaml examples/ipfs.log.gz

# demo: the daemon end to end in two network namespaces it creates (root).
demo: build
	scripts/demo.sh
