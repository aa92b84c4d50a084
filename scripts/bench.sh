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
#
# It also times `LC_ALL=C grep -cE` with a pattern close to each primary
# jail's filter on the same file, one core each, and prints peerjail's cost
# as a multiple of grep's (the cost of reading the bytes); and, on the
# libp2p corpus, the cost of the first 1, 2, 4, 8 and 16 jails of
# scripts/bench/jails.yaml (many jails on one source) as a multiple of one.
# TIME=cpu times user+system CPU seconds instead of elapsed ones, steadier
# on a machine that runs other work.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
DIR=${BENCH_DIR:-/tmp/peerjail-bench}
GO=${GO:-go}
TIME=${TIME:-elapsed}
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

# median of RUNS timings of a command: prints "seconds peak_rss_kb". A
# Python wrapper times it to the microsecond (/usr/bin/time's hundredths
# are a tenth of grep's time on a small corpus), /usr/bin/time measures the
# peak RSS; grep's status 1 (no line matched) is no failure. Output goes
# to a file: GNU grep writing to /dev/null stops at the first match.
measure() {
  local out=() i
  for ((i = 0; i < RUNS; i++)); do
    out+=("$(python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
with open(sys.argv[2] + ".out", "wb") as out:
    rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", sys.argv[2]] + sys.argv[3:], stdout=out)
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc not in (0, 1) or rc == 1 and "grep" not in sys.argv[3:]:
    sys.exit(f"bench: {sys.argv[3:]} exited {rc}")
secs = ru.ru_utime + ru.ru_stime if sys.argv[1] == "cpu" else wall
print(f"{secs:.4f} {open(sys.argv[2]).read().split()[-1]}")' "$TIME" "$DIR/time.txt" "$@")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

rate() { python3 -c "import sys; print(f'{$1/max($2,1e-9):,.0f}')"; }
ratio() { python3 -c "print(f'{$1/max($2,1e-9):.2f}')"; }

# firstn N: scripts/bench/jails.yaml with only its first N jails
firstn() { awk -v n="$1" '/^jails:/{j=1; print; next} j && /^  [A-Za-z0-9_-]+:$/{k++} !j || k<=n' scripts/bench/jails.yaml; }

# What grep is asked on each corpus: the primary jail's marker and address.
grep_pattern() {
  case $1 in
    libp2p) echo 'CANONICAL_PEER_STATUS.*addr=/ip[46]/' ;;
    flow) echo '"suspicious":true.*"remote_address":"|"remote_address":".*"suspicious":true' ;;
    sshd) echo '(Failed [^ ]+ for|[iI]nvalid user|maximum authentication attempts exceeded for|not allowed because|[aA]uthentication (failure|error|failed) for).* from [0-9A-Fa-f:.]+' ;;
  esac
}

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
  read -r gsecs grss < <(measure env LC_ALL=C grep -cE "$(grep_pattern "$kind")" "$log")
  printf '%-7s %-30s %12s %10.1f   peerjail (1 core) costs %sx grep\n' "$kind" "LC_ALL=C grep -cE" \
    "$(rate "$LINES" "$gsecs")" "$(python3 -c "print($grss/1024)")" "$(ratio "$p1" "$gsecs")"
  if [ "$kind" = libp2p ]; then
    read -r secs rss < <(measure env GOMAXPROCS=1 bin/peerjail replay -c "$cfg" --json "$log")
    printf '%-7s %-30s %12s %10.1f\n' "$kind" "peerjail both jails GOMAXPROCS=1" "$(rate "$LINES" "$secs")" "$(python3 -c "print($rss/1024)")"
    for n in 1 2 4 8 16; do
      firstn "$n" > "$DIR/jails-$n.yaml"
      read -r secs rss < <(measure env GOMAXPROCS=1 bin/peerjail replay -c "$DIR/jails-$n.yaml" --json "$log")
      [ "$n" = 1 ] && one=$secs
      printf '%-7s %-30s %12s %10.1f   %sx one jail\n' "$kind" "peerjail $n jails GOMAXPROCS=1" "$(rate "$LINES" "$secs")" \
        "$(python3 -c "print($rss/1024)")" "$(ratio "$secs" "$one")"
    done
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
