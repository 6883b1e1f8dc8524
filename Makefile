# cmed - see README.md. Every target works on a fresh clone with Go 1.26, gcc and make
# (the race detector needs cgo); interop peers are listed in README "Requirements".
GO        ?= go
PKGS      ?= ./...
# Every target must run 60 s without a finding; 26 targets take about 30
# minutes on 2 cores.
FUZZTIME  ?= 60s
# Minimizing each new input is capped: at go test's default (60 s) a target
# whose inputs are whole configs (FuzzParse) spends its whole FUZZTIME
# minimizing, at 0 execs/s.
FUZZMINTIME ?= 2s
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -X main.version=$(VERSION)
export GOTOOLCHAIN := local

.PHONY: all build run test race-short fuzz bench bench-peers bench-memory lint interop ci clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cmed ./cmd/cmed
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cmed-load ./cmd/cmed-load

# Runs the daemon on the embedded default config (state in ~/.local/state/cmed).
run:
	$(GO) run ./cmd/cmed serve

# Every test, with the race detector. Interop tests against real peers
# (sipp, kamailio, tshark, curl) run here too when the tools are installed;
# set CMED_INTEROP=1 to make a missing tool a failure instead of a skip.
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target for FUZZTIME (go test allows one -fuzz target per run).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# Kamailio and cmed side by side (test/peers/bench/peers.sh; needs sipp
# and kamailio): a NOTIFY fan-out (FANOUT="W P R S", default 300 watchers
# on 30 numbers, 100 changes/s for 10 s; about a minute; FANOUT=none
# skips it), then the same sipp SUBSCRIBE lifecycles at each of PEER_RATES
# for PEER_SECS seconds (about 15 s per rate and server): CPU-ms per
# operation and the ratios.
PEER_RATES ?= 600 1200
PEER_SECS  ?= 10
bench-peers:
	sh test/peers/bench/peers.sh "$(PEER_RATES)" $(PEER_SECS)

# RSS of a fresh daemon after MEM_SECS seconds of SUBSCRIBE lifecycles at
# each of MEM_RATES (test/peers/bench/sip-memory.sh; needs sipp).
MEM_RATES ?= 300 3000
MEM_SECS  ?= 60
bench-memory:
	sh test/peers/bench/sip-memory.sh "$(MEM_RATES)" $(MEM_SECS)

# staticcheck is pinned by the tool directive in go.mod (go get -tool), so
# `go tool` builds that version from the module cache: nothing to install.
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run ./internal/tools/doccheck
	$(GO) tool staticcheck $(PKGS)

# Interop tests against real third-party peers; a missing peer fails.
interop:
	CMED_INTEROP=1 $(GO) test -race -count=1 -run 'Interop' $(PKGS)

# What .ci/run executes after installing the peers.
ci: lint
	CMED_INTEROP=1 $(MAKE) test

clean:
	rm -rf bin
