package config

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/peerjail/peerjail/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

// nodeLogs maps the node-software stock filters to their fixtures under
// testdata/stock/nodes, written by tools/nodefixtures (see its MANIFEST):
// each program's own log format, and the same lines behind journalctl's
// prefixes.
var nodeLogs = map[string]string{
	"bitcoin-misbehaving": "bitcoin",
	"bitcoin-discouraged": "bitcoin",
	"bitcoin-connections": "bitcoin",
	"nano-peer-errors":    "nano",
	"geth-handshake":      "geth",
	"geth-too-many-peers": "geth",
	"geth-peer-drop":      "geth",
	"geth-connections":    "geth",
	"cometbft-peer-error": "cometbft",
}

// nodeOutcomes runs f over one fixture and renders every non-miss outcome.
func nodeOutcomes(t *testing.T, f filter.Filter, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
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
		if strings.Contains(hit.Host.String(), victim) || strings.Contains(hit.ID+" "+hit.SelfID, victim) {
			t.Errorf("%s:%d: blames the victim %s: %q", file, n, victim, sc.Text())
		}
		fmt.Fprintf(&got, "%d %s %s %d\n", n, out, hitText(hit), hit.Rule)
	}
	return got.String()
}

// TestNodeStockGolden compares each node filter's outcomes on its program's
// fixtures with the golden files, and checks that the journalctl-prefixed
// copy of a log gives exactly the same outcomes as the program's own lines.
// Regenerate with: go test ./internal/config -run NodeStockGolden -update
func TestNodeStockGolden(t *testing.T) {
	dir := filepath.Join("testdata", "stock", "nodes")
	for name, prog := range nodeLogs {
		t.Run(name, func(t *testing.T) {
			f := stockFilter(t, name)
			got := nodeOutcomes(t, f, filepath.Join(dir, prog+".log"))
			journal := nodeOutcomes(t, f, filepath.Join(dir, prog+"-journal.log"))
			// Rule numbers may differ: a pattern can come in a bare and a
			// prefixed form. Who is blamed, and how, may not.
			if j, g := withoutRules(journal), withoutRules(got); j != g {
				t.Errorf("%s-journal.log differs from %s.log:\n%s", prog, prog, golden.Diff([]byte(g), []byte(j)))
			}
			if !strings.Contains(got, " match ") {
				t.Errorf("no line of %s.log matches", prog)
			}
			golden.CheckString(t, filepath.Join(dir, name+".golden"), got)
		})
	}
}

// withoutRules drops the rule column of nodeOutcomes' lines.
func withoutRules(outcomes string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(outcomes, "\n") {
		if i := strings.LastIndexByte(strings.TrimSuffix(l, "\n"), ' '); i >= 0 {
			b.WriteString(l[:i] + "\n")
		}
	}
	return b.String()
}

// TestNodeStockHostile pins lines an attacker shapes, or that another
// program writes, to what the node software itself wrote (or to nothing).
func TestNodeStockHostile(t *testing.T) {
	tests := []struct {
		filter, line, want string // want: host or identity, or "miss" / "nohost" / "ignored"
	}{
		// Bitcoin Core: the reason text after the peer number is never read.
		{"bitcoin-misbehaving", "2026-12-01T08:56:33.717400Z Misbehaving: peer=5 (0 -> 20): peeraddr=203.0.113.66:8333", "5"},
		{"bitcoin-misbehaving", "Dec 01 08:56:33 node bitcoind[7]: 2026-12-01T08:56:33Z [net] Misbehaving: peer=5: peeraddr=203.0.113.66:8333", "5"},
		{"bitcoin-misbehaving", "Dec 01 08:56:33 node fakecoind[7]: 2026-12-01T08:56:33Z [net] Misbehaving: peer=5: x", "miss"},
		{"bitcoin-misbehaving", "2026-12-01T08:56:23Z [net] wtxidrelay received after verack, disconnecting peer=10, peeraddr=198.51.100.9:8333, peeraddr=203.0.113.66:1", "miss"},
		{"bitcoin-misbehaving", "2026-12-01T08:56:23Z [net] feeler connection completed, disconnecting peer=10, peeraddr=198.51.100.9:8333", "miss"},
		{"bitcoin-misbehaving", "Tue 2026-12-01 08:56:23 UTC node bitcoind.service[7]: 2026-12-01T08:56:23Z [net] sendaddrv2 received after verack, disconnecting peer=10, peeraddr=198.51.100.9:8333", "198.51.100.9"},
		// A bitcoind line shaped like "STAMP TAG: " must not let what follows pass for a line of its own.
		{"bitcoin-connections", "2026-12-01T08:56:33Z Word: 2026-12-01T08:56:33Z [net] Added connection to 203.0.113.66:8333 peer=1", "miss"},
		{"bitcoin-connections", "2026-12-01T08:56:15Z [net] receive version message: x, peer=1, peeraddr=203.0.113.66:8333: version 70016, blocks=1, us=192.0.2.1:8333, txrelay=1, peer=2, peeraddr=198.51.100.9:8333", "miss"},
		{"bitcoin-connections", "2026-12-01T08:56:15Z [net] receive version message: /x:1.0/ (203.0.113.66:8333): version 70016, blocks=1, us=192.0.2.1:8333, txrelay=1, peer=2, peeraddr=198.51.100.9:8333", "198.51.100.9"},
		{"bitcoin-connections", "2026-12-01T08:56:14Z [net] Added connection peer=8", "miss"},
		{"bitcoin-connections", "2026-12-01T08:56:14Z [net] Added connection to [::ffff:198.51.100.8]:8333 peer=8", "198.51.100.8"},
		{"bitcoin-discouraged", "2026-12-01T08:56:18Z Warning: not punishing manually connected peer 7!", "miss"},
		// go-ethereum: the client name and error text are the peer's.
		{"geth-connections", `DEBUG[12-01|08:56:20.717] Adding p2p peer                          peercount=13 id=0f1e2d3c4b5a6978 conn=inbound addr=198.51.100.33:30303 name="addr=203.0.113.66:30303"`, "198.51.100.33"},
		{"geth-handshake", `INFO [12-01|08:56:20.717] Rejected inbound connection              addr=203.0.113.66:30303 err="too many attempts"`, "miss"},
		{"geth-handshake", `DEBUG[12-01|08:56:20.717] Peer connection failed                   err="Rejected inbound connection addr=203.0.113.66:30303 err=x"`, "miss"},
		{"geth-handshake", `Dec 01 08:56:20 node geth[9]: DEBUG[12-01|08:56:20.717] Rejected inbound connection              addr=[2001:db8::9]:30303 err="too many attempts"`, "2001:db8::9"},
		{"geth-too-many-peers", `TRACE[12-01|08:56:17.717] Rejected peer                            id=5555aaaa5555aaaa addr=198.51.100.32:30303 conn=inbound err="already connected"`, "miss"},
		{"geth-peer-drop", `DEBUG[12-01|08:56:21.717] Removing p2p peer                        peercount=12 id=a1b2c3d4e5f60718 duration=3s req=false err="addr=203.0.113.66:30303"`, "a1b2c3d4e5f60718"},
		{"geth-peer-drop", `DEBUG[12-01|08:56:21.717] Removing p2p peer                        peercount=12 id=a1b2c3d4e5f60718 duration=3s req=false err="read tcp 192.0.2.1:30303->198.51.100.9:4000: connection reset by peer"`, "ignored"},
		// CometBFT: the reason is what the peer sent.
		{"cometbft-peer-error", `E[2026-12-01|08:56:14.717] Stopping peer for error                      module=p2p peer="Peer{MConn{198.51.100.45:26656} 7f3c5e1d2b4a69788796a5b4c3d2e1f00f1e2d3c in}" err="peer=\"Peer{MConn{203.0.113.66:26656} 7f3c in}\""`, "198.51.100.45"},
		{"cometbft-peer-error", `I[2026-12-01|08:56:14.717] Stopping peer for error                      module=p2p peer="Peer{MConn{203.0.113.66:26656} 7f3c in}" err=x`, "miss"},
		{"cometbft-peer-error", `E[2026-12-01|08:56:14.717] Error in validation                          module=consensus err="Stopping peer for error module=p2p peer=\"Peer{MConn{203.0.113.66:26656} 7f3c in}\" err=x"`, "miss"},
		{"cometbft-peer-error", `E[2026-12-01|08:56:14.717] Stopping peer for error                      module=p2p peer="Peer{MConn{unix:///run/x.sock} 7f3c5e1d in}" err="x"`, "nohost"},
		{"cometbft-peer-error", `{"_msg":"Stopping peer for error","err":"x\",\"level\":\"error\",\"module\":\"p2p\",\"peer\":\"Peer{MConn{203.0.113.66:1} ab in}\",\"ts\":\"x\"}","level":"error","module":"p2p","peer":"Peer{MConn{198.51.100.46:26656} 7f3c in}","ts":"2026-12-01T08:56:14Z"}`, "198.51.100.46"},
		{"cometbft-peer-error", `{"_msg":"Stopping peer for error","err":"x","level":"info","module":"p2p","peer":"Peer{MConn{203.0.113.66:1} ab in}","ts":"2026-12-01T08:56:14Z"}`, "miss"},
		{"geth-connections", `{"t":"2026-12-01T08:56:45Z","lvl":"debug","msg":"Adding p2p peer","peercount":12,"id":"a1b2","conn":"inbound","addr":"198.51.100.30:30303","name":"\",\"addr\":\"203.0.113.66:30303\""}`, "198.51.100.30"},
		{"geth-handshake", `{"t":"2026-12-01T08:56:45Z","lvl":"info","msg":"Rejected inbound connection","addr":"203.0.113.66:30303","err":"too many attempts"}`, "miss"},
		// Nano: only nano's endpoint, at the end of its own debug line.
		{"nano-peer-errors", "[2026-12-01 08:56:15.717] [tcp_server] [debug] Error deserializing message: invalid_header ([::ffff:198.51.100.20]:7075) ([::ffff:203.0.113.66]:7075)", "miss"},
		{"nano-peer-errors", "[2026-12-01 08:56:15.717] [tcp_server] [info] Error deserializing message: invalid_header ([::ffff:203.0.113.66]:7075)", "miss"},
		{"nano-peer-errors", "Dec 01 08:56:15 node nano_node[5]: [2026-12-01 08:56:15.717] [tcp_listener] [debug] Rejected connection from excluded peer: ::ffff:198.51.100.22", "198.51.100.22"},
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

// Filters whose fixture lines blame an identity only must say so in
// `peerjail filters`, and name the correlation that turns it into an address.
func TestNodeStockIdentityOnlyDescribed(t *testing.T) {
	stock, err := StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "stock", "nodes")
	for name, prog := range nodeLogs {
		spec := stock[name]
		f := stockFilter(t, name)
		data, err := os.ReadFile(filepath.Join(dir, prog+".log"))
		if err != nil {
			t.Fatal(err)
		}
		idOnly := false
		for _, l := range bytes.Split(data, []byte("\n")) {
			hit, out := f.Match(&logline.Line{Text: l})
			if out == filter.Match && !hit.Host.Addr.IsValid() {
				idOnly = true
			}
		}
		described := strings.Contains(spec.Description, "<ID>") && strings.Contains(spec.Description, "correlation")
		if idOnly && !described {
			t.Errorf("%s blames identities only on some lines, but its description does not say so: %q", name, spec.Description)
		}
		if spec.Description == "" {
			t.Errorf("%s has no description", name)
		}
	}
}
