#!/usr/bin/env bash
# make demo: peerjail end to end, inside two network namespaces it creates
# (node, attacker) joined by a veth pair. Nothing outside them is touched:
# no host firewall rule, no host address, no packet leaves the pair.
#
#   1. a TCP service on the node; the attacker connects: it works
#   2. the node's log gets go-libp2p lines showing the attacker churning
#   3. peerjail bans it: status shows it; the connection now times out
#   4. after bantime the kernel lifts the ban by itself: it works again
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces, nftables)"; exit 1; }
command -v ip >/dev/null || { echo "make demo needs iproute2 (apt-get install -y iproute2)"; exit 1; }

id=$$
node=pj-demo-node-$id
attacker=pj-demo-att-$id
work=$(mktemp -d /tmp/peerjail-demo.XXXXXX)
daemon_pid=
server_pid=

cleanup() {
  set +e
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns del "$node" 2>/dev/null
  ip netns del "$attacker" 2>/dev/null
  rm -rf "$work"
  echo "== cleaned up: namespaces $node and $attacker deleted, $work removed"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
try_connect() {
  if ip netns exec "$attacker" python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1.0)
try:
    s.connect(("10.77.0.1", 4001)); print("   connect from attacker to 10.77.0.1:4001: OK")
except OSError as e:
    print("   connect from attacker to 10.77.0.1:4001: FAILED (%s)" % (e.strerror or e)); sys.exit(1)
PY
  then return 0; else return 1; fi
}

step "network namespaces $node (10.77.0.1) and $attacker (10.77.0.2), joined by a veth pair"
ip netns add "$node"
ip netns add "$attacker"
ip -n "$node" link add pjd0 type veth peer name pjd1 netns "$attacker"
ip -n "$node" addr add 10.77.0.1/24 dev pjd0
ip -n "$attacker" addr add 10.77.0.2/24 dev pjd1
for ns in "$node" "$attacker"; do ip -n "$ns" link set lo up; done
ip -n "$node" link set pjd0 up
ip -n "$attacker" link set pjd1 up

step "a TCP service on the node, port 4001 (a stand-in for an IPFS node's swarm port)"
ip netns exec "$node" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.1", 4001)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()' &
server_pid=$!
sleep 0.3

log=$work/ipfs.log
: > "$log"
cat > "$work/peerjail.yaml" <<YAML
jails:
  libp2p:
    filter: libp2p-peer-status
    source: {files: [$log]}
    findtime: 1m
    maxretry: 10
    bantime: 15s
    ports: [4001]
    protocol: tcp
YAML
step "peerjail check"
bin/peerjail check -c "$work/peerjail.yaml"

step "peerjail run, inside the node's namespace"
ip netns exec "$node" bin/peerjail run -c "$work/peerjail.yaml" --state "$work/state.db" \
  --socket "$work/peerjail.sock" --log-level warn &
daemon_pid=$!
for _ in $(seq 50); do [ -S "$work/peerjail.sock" ] && break; sleep 0.1; done
sleep 0.5

step "before the attack"
try_connect

step "the attacker churns connections; go-libp2p logs CANONICAL_PEER_STATUS for each"
for i in $(seq 12); do
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  printf '%s\tINFO\tcanonical-log\tswarm/swarm_listen.go:128\tCANONICAL_PEER_STATUS: peer=12D3KooWDemoAttacker%02d addr=/ip4/10.77.0.2/tcp/%d sample_rate=100 connection_status="established" dir="inbound"\n' \
    "$now" "$i" $((40000 + i)) >> "$log"
done
echo "   12 lines appended to $log (maxretry is 10)"
sleep 1

step "peerjail status"
ip netns exec "$node" bin/peerjail status --socket "$work/peerjail.sock"

step "during the ban"
if try_connect; then echo "   (unexpected: the ban did not block the connection)"; exit 1; fi

step "the kernel set (nft list set inet peerjail libp2p_v4, in the node's namespace)"
if command -v nft >/dev/null; then ip netns exec "$node" nft list set inet peerjail libp2p_v4 | sed 's/^/   /'; fi

step "waiting for bantime (15s): the element's timeout lifts the ban in the kernel"
sleep 16
try_connect
ip netns exec "$node" bin/peerjail status --socket "$work/peerjail.sock" | sed -n '1,20p'
