#!/usr/bin/env bash
# The daemon's acceptance figures, against the real kernel, each in network
# namespaces of its own that are removed afterwards (root only):
#
#   1. ban latency: from the write of the decisive line to the element in the
#      kernel's set, p50 and p99 over 1,000 bans (target: p99 <= 10 ms), and
#      the same with 100,000 bans already in the set (no target);
#   2. start-up with 100,000 active bans in the store, until READY, with the
#      kernel's sets empty (cold, as after a reboot) and still full (warm)
#      (target: <= 1 s each);
#      then the time of one Verify of 10,000 bans; with BASELINE=<revision>
#      all three for that revision too, for a comparison from one run;
#   3. sustained ingest: the daemon (peerjail run, built afresh, in a
#      namespace) follows a file to which LINES fresh corpus lines are
#      appended at once; lines/s until its counters reach LINES, and its
#      peak RSS (VmHWM) (target: >= 300,000 lines/s, <= 100 MB).
#
#   scripts/daemon-bench.sh                          # all of it
#   KINDS=sshd LINES=1000000 scripts/daemon-bench.sh
#   KINDS= BASELINE=f5b28dc scripts/daemon-bench.sh   # firewall figures, against the interval sets
#
# It prints one line per figure and exits 1 when a figure misses its target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "daemon-bench: skipped: needs root (network namespaces and nftables)" >&2
  exit 0
fi
LINES=${LINES:-2000000}
KINDS=${KINDS-sshd libp2p}
GO=${GO:-go}
WORK=$(mktemp -d /tmp/peerjail-daemon-bench.XXXXXX)
NS=peerjail-bench-$$
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  ip netns delete "$NS" 2>/dev/null || true
  if [ -d "$WORK/baseline" ]; then git worktree remove --force "$WORK/baseline" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
missed=0
# check EXPRESSION: sets VERDICT to ok, or to MISSED and remembers the miss.
check() {
  if python3 -c "import sys; sys.exit(0 if ($1) else 1)"; then VERDICT=ok; else VERDICT=MISSED missed=1; fi
}

# metric FILE NAME UNIT: the value before UNIT on the line of benchmark NAME.
metric() { awk -v n="$2" -v u="$3" '$1 ~ "^"n"(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' "$1"; }

# firewall_figures DIR LABEL: 1 and 2, then the cost of one Verify of 10,000
# bans, measured on the source tree DIR and printed under LABEL.
firewall_figures() {
  local dir=$1 label=$2 pkg
  # 1. Ban latency, with the sets empty and with 100,000 bans in them.
  (cd "$dir" && $GO test -count=1 -run '^$' -bench '^BenchmarkBanLatency$' -benchtime 1000x ./internal/daemon/) >"$WORK/latency.txt" ||
    { cat "$WORK/latency.txt"; exit 1; }
  p50=$(metric "$WORK/latency.txt" BenchmarkBanLatency/active=0 p50-ms)
  p99=$(metric "$WORK/latency.txt" BenchmarkBanLatency/active=0 p99-ms)
  check "$p99 <= 10"
  printf '%s: ban latency p50 %.2f ms, p99 %.2f ms (1000 bans; target p99 <= 10 ms): %s\n' "$label" "$p50" "$p99" "$VERDICT"
  p50=$(metric "$WORK/latency.txt" BenchmarkBanLatency/active=100000 p50-ms)
  p99=$(metric "$WORK/latency.txt" BenchmarkBanLatency/active=100000 p99-ms)
  printf '%s: ban latency with 100000 bans active p50 %.2f ms, p99 %.2f ms (1000 bans)\n' "$label" "$p50" "$p99"

  # 2. Start-up with 100,000 bans. The kernel frees the namespaces of the
  # benchmark before in the background: let it finish first.
  sleep 5
  (cd "$dir" && $GO test -count=1 -run '^$' -bench '^BenchmarkStartup100k$' -benchtime 1x ./internal/daemon/) >"$WORK/startup.txt" ||
    { cat "$WORK/startup.txt"; exit 1; }
  cold=$(metric "$WORK/startup.txt" BenchmarkStartup100k/cold s/ready)
  warm=$(metric "$WORK/startup.txt" BenchmarkStartup100k/warm s/ready)
  check "$cold <= 1 and $warm <= 1"
  printf '%s: start-up with 100000 bans until READY: cold %.2f s, warm %.2f s (target <= 1 s): %s\n' "$label" "$cold" "$warm" "$VERDICT"

  # Verify of 10,000 bans (the kernel backend moved from internal/firewall
  # to internal/nftables).
  sleep 5
  pkg=./internal/nftables/
  [ -d "$dir/internal/nftables" ] || pkg=./internal/firewall/
  (cd "$dir" && $GO test -count=1 -run '^$' -bench '^BenchmarkVerify$/^bans=10000$' -benchtime 20x "$pkg") >"$WORK/verify.txt" ||
    { cat "$WORK/verify.txt"; exit 1; }
  ns=$(metric "$WORK/verify.txt" BenchmarkVerify/bans=10000 ns/op)
  cpu=$(metric "$WORK/verify.txt" BenchmarkVerify/bans=10000 cpu-ms/op)
  printf '%s: Verify of 10000 bans %.1f ms, %.1f ms CPU\n' "$label" "$(python3 -c "print($ns / 1e6)")" "$cpu"
}

# BASELINE=<git revision>: the same figures for that revision too, from a
# temporary worktree, so that one run compares two designs (the interval
# sets of before issue 7 are f5b28dc).
if [ -n "${BASELINE:-}" ]; then
  git worktree add --detach "$WORK/baseline" "$BASELINE" >/dev/null
  firewall_figures "$WORK/baseline" "$(git rev-parse --short "$BASELINE")"
  git worktree remove --force "$WORK/baseline"
  sleep 5
fi
firewall_figures . "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo +changes)"

# 3. Sustained ingest, per corpus kind.
$GO build -o "$WORK/peerjail" ./cmd/peerjail
$GO build -o "$WORK/gencorpus" ./scripts/gencorpus
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
lines_counted() {
  ip netns exec "$NS" curl -sf http://127.0.0.1:9742/metrics |
    awk '/^peerjail_lines_total/ { s += $2 } END { printf "%d\n", s }'
}
for kind in $KINDS; do
  # Fresh timestamps, 20,000 lines per second of log time, all still within
  # findtime when read: lines older than that would only be counted as stale.
  case $kind in
    sshd) filter=sshd start=now-120 maxretry=5 findtime=10m ;;
    libp2p) filter=libp2p-peer-status start=now-60 maxretry=90 findtime=180s ;;
    *) echo "daemon-bench: unknown kind $kind" >&2; exit 2 ;;
  esac
  "$WORK/gencorpus" -kind "$kind" -lines "$LINES" -start "$start" -rate 20000 -out "$WORK/corpus.log"
  : >"$WORK/watched.log"
  rm -f "$WORK/state.db"
  cat >"$WORK/peerjail.yaml" <<EOF
jails:
  $kind:
    filter: $filter
    source: {files: [$WORK/watched.log]}
    maxretry: $maxretry
    findtime: $findtime
    bantime: 1h
    ignoreself: false
EOF
  ip netns exec "$NS" "$WORK/peerjail" run -c "$WORK/peerjail.yaml" --state "$WORK/state.db" \
    --socket "$WORK/peerjail.sock" --metrics 127.0.0.1:9742 --log-level warn 2>"$WORK/daemon.log" &
  PID=$!
  for _ in $(seq 200); do
    "$WORK/peerjail" status --socket "$WORK/peerjail.sock" >/dev/null 2>&1 && break
    sleep 0.05
  done
  t0=$(date +%s.%N)
  cat "$WORK/corpus.log" >>"$WORK/watched.log"
  deadline=$(($(date +%s) + 120))
  until [ "$(lines_counted || echo 0)" -ge "$LINES" ]; do
    if [ "$(date +%s)" -gt "$deadline" ] || ! kill -0 "$PID" 2>/dev/null; then
      echo "daemon-bench: $kind: the daemon did not count $LINES lines in time" >&2
      cat "$WORK/daemon.log" >&2
      exit 1
    fi
    sleep 0.02
  done
  t1=$(date +%s.%N)
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$PID/status")
  kill "$PID"
  wait "$PID" || true
  PID=
  rate=$(python3 -c "print(round($LINES / ($t1 - $t0)))")
  mb=$(python3 -c "print(round($hwm / 1024, 1))")
  check "$rate >= 300000 and $mb <= 100"
  printf 'ingest %s %d lines: %s lines/s, peak RSS %s MB (target >= 300000 lines/s, <= 100 MB): %s\n' \
    "$kind" "$LINES" "$(python3 -c "print(f'{$rate:,}')")" "$mb" "$VERDICT"
done
exit $missed
