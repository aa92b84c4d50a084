#!/usr/bin/env bash
# Replay throughput, peak memory and correctness on the shared corpora.
#
#   scripts/bench.sh                 # 1M lines per kind, seed 1
#   LINES=200000 RUNS=1 scripts/bench.sh
#
# For each kind it prints lines/s and peak RSS with GOMAXPROCS=1 and 2 (median
# of RUNS), checks that the set of banned hosts equals the generator's ground
# truth and that no victim is banned, and, where fail2ban-regex is installed,
# times it on the same file in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
DIR=${BENCH_DIR:-/tmp/peerjail-bench}
GEN=${GEN:-../shared/bench/gen_corpus.py}
F2B=${F2B_FILTERS:-../shared/bench/fail2ban}
# fail2ban-regex's stock sshd filter; set F2B_SSHD to its path when fail2ban is unpacked elsewhere.
mkdir -p "$DIR"
[ -x bin/peerjail ] || make -s build

# median of RUNS timings of a command: prints "seconds peak_rss_kb"
measure() {
  local out=() i
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f '%e %M' -o "$DIR/time.txt" "$@" >/dev/null
    out+=("$(cat "$DIR/time.txt")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

rate() { python3 -c "import sys; print(f'{$1/max($2,1e-9):,.0f}')"; }

printf '%-7s %-30s %12s %10s\n' corpus what lines/s RSS_MB
failed=0
for kind in libp2p flow sshd; do
  log="$DIR/$kind-$LINES-$SEED.log"
  truth="$DIR/$kind-$LINES-$SEED.truth.json"
  [ -s "$truth" ] || python3 "$GEN" --kind "$kind" --lines "$LINES" --seed "$SEED" --out "$log" --truth "$truth"
  cfg="scripts/bench/$kind.yaml"
  # The jail timed against fail2ban-regex runs the same filter it does.
  case $kind in
    libp2p) primary=peer_status ;;
    flow) primary=suspicious ;;
    sshd) primary=sshd_normal ;;
  esac
  for procs in 1 2; do
    read -r secs rss < <(measure env GOMAXPROCS=$procs bin/peerjail replay -c "$cfg" --jail "$primary" --json "$log")
    printf '%-7s %-30s %12s %10.1f\n' "$kind" "peerjail $primary GOMAXPROCS=$procs" "$(rate "$LINES" "$secs")" "$(python3 -c "print($rss/1024)")"
    [ "$procs" = 1 ] && p1=$secs
  done
  if [ "$kind" = libp2p ]; then
    read -r secs rss < <(measure env GOMAXPROCS=1 bin/peerjail replay -c "$cfg" --json "$log")
    printf '%-7s %-30s %12s %10.1f\n' "$kind" "peerjail both jails GOMAXPROCS=1" "$(rate "$LINES" "$secs")" "$(python3 -c "print($rss/1024)")"
  fi
  bin/peerjail replay -c "$cfg" --json "$log" > "$DIR/$kind.jsonl"
  python3 scripts/bench/compare.py "$kind" "$DIR/$kind.jsonl" "$truth" || failed=1
  if command -v fail2ban-regex >/dev/null 2>&1; then
    case $kind in
      libp2p) filt="$F2B/go-libp2p-peer-status.conf" ;;
      flow) filt="$F2B/flow-suspicious.conf" ;;
      sshd) filt=${F2B_SSHD:-sshd} ;;
    esac
    read -r fsecs frss < <(measure fail2ban-regex --print-no-missed --print-no-ignored "$log" "$filt")
    printf '%-7s %-30s %12s %10.1f   peerjail (1 core) is %.1fx faster\n' "$kind" "fail2ban-regex" \
      "$(rate "$LINES" "$fsecs")" "$(python3 -c "print($frss/1024)")" "$(python3 -c "print($fsecs/$p1)")"
  fi
done
exit $failed
