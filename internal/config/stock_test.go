package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"

	"github.com/peerjail/peerjail/internal/golden"
)

// victim is written into attacker-controlled text in the test logs; no stock
// filter may ever blame it.
const victim = "203.0.113.66"

var stockLogs = map[string]string{
	"libp2p-peer-status": "libp2p.log",
	"libp2p-misbehaving": "libp2p.log",
	"sshd":               "sshd.log",
	"flow-suspicious":    "flow.log",
}

func stockFilter(t *testing.T, name string) filter.Filter {
	t.Helper()
	stock, err := StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	spec, ok := stock[name]
	if !ok {
		t.Fatalf("no stock filter %q", name)
	}
	f, err := filter.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// hitText is a hit as the golden files show it: whom it blames, then the
// identity it names beside an address (id=) and the node's own (self=).
func hitText(h filter.Hit) string {
	s := h.Host.String()
	if h.ID != "" && h.ID != h.Host.ID {
		s += " id=" + h.ID
	}
	if h.SelfID != "" {
		s += " self=" + h.SelfID
	}
	return s
}

// TestStockGolden runs each stock filter over its log (generated lines plus
// hand-written hostile ones) and compares every non-miss outcome with the
// golden file. Regenerate with: go test ./internal/config -run StockGolden -update
func TestStockGolden(t *testing.T) {
	for name, log := range stockLogs {
		t.Run(name, func(t *testing.T) {
			f := stockFilter(t, name)
			data, err := os.ReadFile(filepath.Join("testdata", "stock", log))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			sc := bufio.NewScanner(bytes.NewReader(data))
			for n := 1; sc.Scan(); n++ {
				l := logline.Line{Text: sc.Bytes()}
				hit, out := f.Match(&l)
				if out == filter.Miss {
					continue
				}
				if hit.Host.String() == victim || hit.ID == victim || hit.SelfID == victim {
					t.Errorf("line %d: blames the victim %s: %q", n, victim, sc.Text())
				}
				fmt.Fprintf(&got, "%d %s %s %d\n", n, out, hitText(hit), hit.Rule)
			}
			golden.Check(t, filepath.Join("testdata", "stock", name+".golden"), got.Bytes())
		})
	}
}

// TestStockHostile pins the hand-written hostile lines to the host sshd,
// go-libp2p or flow-go itself wrote (or to no match at all).
func TestStockHostile(t *testing.T) {
	tests := []struct {
		filter, line, want string // want: host, or "miss" / "nohost" / "unparsed"
	}{
		{"sshd", "Jul 27 00:10:00 bastion sshd[1]: Failed password for invalid user 203.0.113.66 from 198.51.100.3 port 2222 ssh2", "198.51.100.3"},
		{"sshd", "Jul 27 00:10:01 bastion sshd[1]: Invalid user x from 203.0.113.66 port 22 from 198.51.100.4 port 5555", "198.51.100.4"},
		{"sshd", "Jul 27 00:10:11 bastion sshd[1]: Failed password for invalid user x from 203.0.113.66 port 22 ssh2 from 198.51.100.16 port 22 ssh2", "198.51.100.16"},
		{"sshd", "Jul 27 00:10:05 bastion sshd[1]: User x from 203.0.113.66 not allowed because listed in DenyUsers from 198.51.100.7 not allowed because listed in DenyUsers", "198.51.100.7"},
		// An existing user's name has no spaces: the certificate ID after the
		// address (the client's text) is never read.
		{"sshd", "Jul 27 00:10:03 bastion sshd[1]: Failed publickey for root from 198.51.100.5 port 22 ssh2: RSA-CERT SHA256:abc ID x from 203.0.113.66 port 22 ssh2: RSA SHA256:x (serial 0) CA RSA SHA256:yyy", "198.51.100.5"},
		{"sshd", "Jul 27 00:10:03 bastion sshd[1]: Failed publickey for invalid user a from 198.51.100.5 port 22 ssh2: RSA-CERT SHA256:abc ID x from 203.0.113.66 port 22 ssh2: RSA SHA256:x (serial 0) CA RSA SHA256:yyy", "miss"},
		{"sshd", "Jul 27 00:10:02 bastion sshd[1]: Failed publickey for root from 198.51.100.5 port 22 ssh2: RSA SHA256:abcDEF+/x09", "198.51.100.5"},
		{"sshd", "Jul 27 00:10:02 bastion sshd[1]: Failed publickey for invalid user x from 198.51.100.5 port 22 ssh2: RSA SHA256:abcDEF+/x09", "198.51.100.5"},
		{"sshd", "Jul 27 00:10:08 bastion fakeauth[3]: Failed password for root from 203.0.113.66 port 22 ssh2", "miss"},
		{"sshd", "Jul 27 00:10:12 bastion sshd[1]: Connection closed by invalid user 203.0.113.66 198.51.100.17 port 22 [preauth]", "miss"},
		{"sshd", "Failed none for invalid user 203.0.113.66 from 2001:db8::7 port 22 ssh2", "2001:db8::7"},
		{"libp2p-misbehaving", "time=2025-11-02T10:00:02.000Z level=WARN source=/x/id.go:655 msg=CANONICAL_MISBEHAVING_PEER peer=12D3KooWA addr=/ip4/198.51.100.11/tcp/4001 component=identify err=\"addr=/ip4/203.0.113.66/tcp/1\" msg=\"x\"", "198.51.100.11"},
		{"libp2p-misbehaving", "2024-07-27T00:00:22.000Z\tWARN\tcanonical-log\tid.go:655\tCANONICAL_MISBEHAVING_PEER: peer=12D3KooWX net_addr=198.51.100.13:4001 component=identify err=\"CANONICAL_MISBEHAVING_PEER: peer=x addr=/ip4/203.0.113.66/tcp/1 component=y\" msg=\"x\"", "miss"},
		{"libp2p-peer-status", "Jul 27 00:00:23 n ipfs[1]: 2024-07-27T00:00:23.000Z\tWARN\tbitswap\tbitswap.go:197\tsend to X: \tcanonical-log\tx.go:1\tCANONICAL_PEER_STATUS: peer=x addr=/ip4/203.0.113.66/tcp/4001 sample_rate=100", "miss"},
		{"libp2p-peer-status", "time=2025-11-02T10:00:03.000Z level=INFO source=/x/dial.go:1 msg=\"dial failed\" err=\"msg=CANONICAL_PEER_STATUS peer=x addr=/ip4/203.0.113.66/tcp/4001 sample_rate=100\"", "miss"},
		{"libp2p-peer-status", "Jul 27 00:00:26 n ipfs[1]: 2024-07-27T00:00:26.000Z\tINFO\tcanonical-log\tl.go:128\tCANONICAL_PEER_STATUS: peer=12D3KooWZ addr=/ip4/::ffff:198.51.100.14/tcp/4001 sample_rate=100", "nohost"},
		{"libp2p-peer-status", "2024-07-27T00:00:26.000Z        INFO        canonical-log        l.go:128        CANONICAL_PEER_STATUS: peer=12D3KooWZ addr=/ip6/2001:db8::1/udp/1/quic-v1 sample_rate=100", "2001:db8::1"},
		{"flow-suspicious", `{"level":"warn","error":"could not decode {\"suspicious\":true,\"remote_address\":\"203.0.113.66:3569\"}","suspicious":false,"remote_address":"198.51.100.21:3569"}`, "miss"},
		{"flow-suspicious", `{"level":"warn","suspicious":"true","remote_address":"198.51.100.20:3569","misbehavior":"invalid_message"}`, "198.51.100.20"},
		{"flow-suspicious", `Jul 27 00:10:04 node flow[12]: {"suspicious":true,"remote_address":"[2001:db8::9]:3569","networking_offense":"unknown_channel"}`, "2001:db8::9"},
		{"flow-suspicious", `{"level":"warn","nested":{"suspicious":true,"remote_address":"203.0.113.66:1"}}`, "miss"},
		{"flow-suspicious", `{"suspicious":true,"peer_id":"16Uiu2HAmX"}`, "16Uiu2HAmX"},
		{"flow-suspicious", `{"level":"warn","node_id":"aaaa","suspicious":true,"origin_id":"bbbb"}`, "bbbb"},
		{"flow-suspicious", `{"level":"warn","node_id":"aaaa","suspicious":true}`, "nohost"},
		{"flow-suspicious", `{"level":"error","suspicious":true,"remote_peer":"16Uiu2HAmY","remote_address":"/ip4/198.51.100.23/tcp/3569"}`, "198.51.100.23"},
		{"flow-suspicious", `{"level":"error","suspicious":true,"remote_peer":"16Uiu2HAmY","remote_address":"/ip4/203.0.113.66/tcp/3569/p2p/16Uiu2HAmR/p2p-circuit"}`, "16Uiu2HAmY"},
		{"flow-suspicious", `{"level":"error","suspicious":true,"remote_address":"/dns4/flow.example/tcp/3569"}`, "nohost"},
		{"flow-suspicious", `{"suspicious":"true","peer_id":"16Uiu2HAmZ","error":"from \"remote_address\":\"203.0.113.66\""}`, "16Uiu2HAmZ"},
		{"flow-suspicious", `Tue 2026-12-01 08:56:14 UTC node flow.service[7]: {"suspicious":true,"remote_address":"/ip6/2001:db8::a/udp/3569/quic-v1"}`, "2001:db8::a"},
		{"flow-suspicious", `[ 1234.567890] node flow[7]: {"suspicious":true,"remote_address":"/ip4/198.51.100.24/tcp/3569"}`, "198.51.100.24"},
		{"flow-suspicious", `1764579374.717400 node flow[7]: {"suspicious":false,"remote_address":"/ip4/198.51.100.24/tcp/3569"}`, "miss"},
		{"libp2p-peer-status", "2024-07-27T00:00:26.000Z\tINFO\tcanonical-log\tnoise/transport.go:60\tCANONICAL_PEER_STATUS: peer= addr=/ip4/198.51.100.30/tcp/60184 sample_rate=100 handshake_failure=\"noise\" err=\"failed to negotiate: addr=/ip4/203.0.113.66/tcp/1\"", "198.51.100.30"},
		{"libp2p-peer-status", "Dec 01 08:56:14.717400 node ipfs[46133]: 2024-07-27T00:00:26.000Z\t\x1b[34mINFO\x1b[0m\tcanonical-log\tnoise/transport.go:60\tCANONICAL_PEER_STATUS: peer= addr=/ip6/2001:db8::30/tcp/60184 sample_rate=100", "2001:db8::30"},
		{"libp2p-peer-status", `{"level":"info","ts":"2024-07-27T00:00:26.000Z","logger":"canonical-log","caller":"noise/transport.go:60","msg":"CANONICAL_PEER_STATUS: peer= addr=/ip4/198.51.100.31/tcp/60184 sample_rate=100 handshake_failure=\"noise\" err=\"x\""}`, "198.51.100.31"},
		{"libp2p-peer-status", `{"level":"info","ts":"2024-07-27T00:00:26.000Z","logger":"canonical-log","caller":"x.go:1","msg":"dial: CANONICAL_PEER_STATUS: peer= addr=/ip4/203.0.113.66/tcp/1 sample_rate=100"}`, "miss"},
		{"libp2p-peer-status", `{"level":"info","ts":"2024-07-27T00:00:26.000Z","logger":"swarm","caller":"x.go:1","msg":"CANONICAL_PEER_STATUS: peer= addr=/ip4/203.0.113.66/tcp/1 sample_rate=100"}`, "miss"},
		{"libp2p-peer-status", "2024-07-27T00:00:26.000Z\tINFO\tcanonical-log\tswarm.go:1\tCANONICAL_PEER_STATUS: peer=12D3KooWPeer addr=/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit sample_rate=100", "12D3KooWPeer"},
		{"libp2p-peer-status", "time=2025-11-02T10:00:03.000Z level=INFO msg=CANONICAL_PEER_STATUS peer=\"\" addr=/ip4/203.0.113.66/udp/4001/quic-v1/p2p/12D3KooWRelay/p2p-circuit sample_rate=100", "nohost"},
		{"libp2p-peer-status", "ts=2025-11-02T10:00:03.000Z level=info msg=CANONICAL_PEER_STATUS logger=canonical-log peer=\"\" addr=/ip4/198.51.100.32/tcp/60184 sample_rate=100 handshake_failure=noise err=\"peer=x addr=/ip4/203.0.113.66/tcp/1\"", "198.51.100.32"},
		{"libp2p-peer-status", `{"ts":"2025-11-02T10:00:03Z","level":"info","msg":"CANONICAL_PEER_STATUS","logger":"canonical-log","peer":"","addr":"/ip4/198.51.100.33/tcp/60184","sample_rate":"100","err":"\"addr\":\"/ip4/203.0.113.66/tcp/1\""}`, "198.51.100.33"},
		{"libp2p-peer-status", "time=2025-11-02T10:00:03.000Z level=INFO msg=CANONICAL_PEER_STATUS peer=12D3KooWQ addr=/dns4/example.com/tcp/4001 sample_rate=100", "nohost"},
		{"libp2p-peer-status", "<30>1 2026-12-01T08:56:14.717400+00:00 node ipfs 46133 - - time=2025-11-02T10:00:03.000Z level=INFO msg=CANONICAL_PEER_STATUS peer=12D3KooWQ addr=/ip4/198.51.100.34/tcp/4001 sample_rate=100", "198.51.100.34"},
		{"libp2p-misbehaving", "2024-07-27T00:00:22.000Z\tWARN\tcanonical-log\tid.go:655\tCANONICAL_MISBEHAVING_PEER: peer=12D3KooWX addr=/ip4/203.0.113.66/tcp/4001/p2p/12D3KooWRelay/p2p-circuit component=identify err=\"x\" msg=\"y\"", "12D3KooWX"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: error: PAM: Authentication failure for root from 198.51.100.40", "198.51.100.40"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: error: PAM: Authentication failure for illegal user x from 203.0.113.66 from 198.51.100.41", "198.51.100.41"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: ROOT LOGIN REFUSED FROM 198.51.100.42", "198.51.100.42"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: User root from 198.51.100.43 not allowed because not listed in AllowUsers", "198.51.100.43"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: refused connect from evil.example (198.51.100.44)", "198.51.100.44"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Failed keyboard-interactive/pam for root from 198.51.100.45 port 2222 ssh2", "198.51.100.45"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Failed keyboard-interactive/pam for invalid user a from 203.0.113.66 port 1 ssh2 from 198.51.100.46 port 2222 ssh2", "198.51.100.46"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: [ID 800047 auth.info] Failed password for root from 198.51.100.47 port 22 ssh2", "198.51.100.47"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Invalid user admin from 2001:db8::48 port 22", "2001:db8::48"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Failed password for root from 2001:db8::49 port 22 ssh2", "2001:db8::49"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Received disconnect from 198.51.100.50 port 22:3: com.jcraft.jsch.JSchException: Auth fail [preauth]", "198.51.100.50"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Disconnecting authenticating user root 198.51.100.51 port 22: Change of username or service not allowed: (root,ssh-connection) -> (x from 203.0.113.66 port 1,ssh-connection) [preauth]", "198.51.100.51"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Failed password for root from 198.51.100.52 port 22 ssh2: from 203.0.113.66 port 1 ssh2", "198.51.100.52"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Invalid user x from 203.0.113.66 port 22 from 198.51.100.53", "198.51.100.53"},
		{"sshd", "Dec  1 08:56:14 bastion sshd[1]: Did not receive identification string from 198.51.100.54", "miss"},
		{"sshd-ddos", "Dec  1 08:56:14 bastion sshd[1]: Did not receive identification string from 198.51.100.54", "198.51.100.54"},
		{"sshd-ddos", "Dec  1 08:56:14 bastion sshd[1]: Bad protocol version identification 'x'' from 203.0.113.66' from 198.51.100.55 port 4711", "198.51.100.55"},
		{"sshd-ddos", "Dec  1 08:56:14 bastion sshd[1]: Connection closed by invalid user 203.0.113.66 198.51.100.17 port 22 [preauth]", "198.51.100.17"},
		{"sshd-ddos", "Dec  1 08:56:14 bastion sshd[1]: Connection closed by 198.51.100.56 port 22", "miss"},
		{"sshd-ddos", "Dec  1 08:56:14 bastion sshd[1]: Unable to negotiate with 198.51.100.57 port 22: no matching key exchange method found.", "miss"},
		{"sshd-aggressive", "Dec  1 08:56:14 bastion sshd[1]: Unable to negotiate with 198.51.100.57 port 22: no matching key exchange method found.", "198.51.100.57"},
		{"sshd-aggressive", "Dec  1 08:56:14 bastion sshd[1]: Received disconnect from 198.51.100.58 port 22:14: No supported authentication methods available [preauth]", "198.51.100.58"},
		{"sshd-aggressive", "Dec  1 08:56:14 bastion sshd[1]: Invalid user x from 198.51.100.59", "198.51.100.59"},
		{"flow-suspicious", `{"suspicious":true,"remote_address":"198.51.100.22:3569"`, "unparsed"},
	}
	for _, tt := range tests {
		f := stockFilter(t, tt.filter)
		hit, out := f.Match(&logline.Line{Text: []byte(tt.line)})
		got := out.String()
		if out == filter.Match {
			got = hit.Host.String()
		}
		if got != tt.want {
			t.Errorf("%s: %q\n got %s, want %s", tt.filter, tt.line, got, tt.want)
		}
	}
}

func TestStockFiltersAllLoad(t *testing.T) {
	stock, err := StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"libp2p-peer-status", "libp2p-misbehaving", "flow-suspicious", "sshd", "sshd-ddos", "sshd-aggressive"} {
		s, ok := stock[name]
		if !ok || s.Description == "" {
			t.Errorf("stock filter %q missing or without description", name)
		}
	}
}

// The sshd modes nest as fail2ban's do: ddos adds to normal, aggressive to
// ddos, each keeping the patterns before it in order (so rule numbers agree).
func TestStockSSHDModesNest(t *testing.T) {
	stock, err := StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	chain := []string{"sshd", "sshd-ddos", "sshd-aggressive"}
	for i := 1; i < len(chain); i++ {
		small, big := stock[chain[i-1]].Regex, stock[chain[i]].Regex
		if small == nil || big == nil || len(big.Fail) <= len(small.Fail) {
			t.Fatalf("%s does not extend %s", chain[i], chain[i-1])
		}
		for j, p := range small.Fail {
			if big.Fail[j] != p {
				t.Errorf("%s fail[%d] differs from %s's", chain[i], j, chain[i-1])
			}
		}
	}
}
