#!/usr/bin/env bash
# Regenerates internal/config/testdata/stock/nodes (the node-software stock
# filters' fixtures) and their golden files. Needs go and the Go module proxy
# (go-ethereum v1.14.12 and cometbft v0.38.17 are built here, in this module
# of its own, so the main module gains no dependency). No network traffic
# besides the module downloads: the lines are written, not sent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/internal/config/testdata/stock/nodes
mkdir -p "$out"
(cd "$here" && CGO_ENABLED=0 go run . -out "$out")
(cd "$repo" && go test ./internal/config -run NodeStockGolden -update >/dev/null && go test ./internal/config -run NodeStock)
