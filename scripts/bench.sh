#!/usr/bin/env bash
# Replay throughput, peak memory and correctness on generated corpora.
#
#   scripts/bench.sh                 # 1M lines per kind, seed 1
#   LINES=200000 RUNS=1 scripts/bench.sh
#
# For each kind it generates the corpus and its ground truth with
# scripts/gencorpus (kept in BENCH_DIR and keyed by the generator's source,
# so a second run reuses them), prints lines/s and peak RSS with GOMAXPROCS=1
# and 2 (median of RUNS), checks that the set of banned hosts equals the
# ground truth and that no victim is banned, and, where fail2ban-regex is on
# PATH, times it on the same file in the same run with the filters in
# scripts/bench/fail2ban (F2B_SSHD=PATH times another sshd filter, such as
# fail2ban's stock filter.d/sshd.conf, instead of ours).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
DIR=${BENCH_DIR:-/tmp/peerjail-bench}
GO=${GO:-go}
F2B=scripts/bench/fail2ban
mkdir -p "$DIR"
[ -x bin/peerjail ] || make -s build
$GO build -o "$DIR/gencorpus" ./scripts/gencorpus
gen_id=$(cat scripts/gencorpus/*.go | sha256sum | cut -c1-12)
if command -v fail2ban-regex >/dev/null 2>&1; then
  have_f2b=1
else
  have_f2b=
  echo "bench: fail2ban-regex is not on PATH: its column is skipped (Debian: apt-get install fail2ban)" >&2
fi

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
  log="$DIR/$kind-$LINES-$SEED-$gen_id.log"
  truth="$DIR/$kind-$LINES-$SEED-$gen_id.truth.json"
  [ -s "$truth" ] || "$DIR/gencorpus" -kind "$kind" -lines "$LINES" -seed "$SEED" -out "$log" -truth "$truth"
  cfg="scripts/bench/$kind.yaml"
  # The jail timed against fail2ban-regex runs the same matching as its filter.
  case $kind in
    libp2p) primary=peer_status filt="$F2B/libp2p-peer-status.conf" ;;
    flow) primary=suspicious filt="$F2B/flow-suspicious.conf" ;;
    sshd) primary=sshd_normal filt=${F2B_SSHD:-$F2B/sshd.conf} ;;
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
  if [ -n "$have_f2b" ]; then
    read -r fsecs frss < <(measure fail2ban-regex --print-no-missed --print-no-ignored "$log" "$filt")
    printf '%-7s %-30s %12s %10.1f   peerjail (1 core) is %.1fx faster\n' "$kind" "fail2ban-regex" \
      "$(rate "$LINES" "$fsecs")" "$(python3 -c "print($frss/1024)")" "$(python3 -c "print($fsecs/$p1)")"
  fi
done
exit $failed
