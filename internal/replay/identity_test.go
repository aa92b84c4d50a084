package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/golden"
)

// realLines reads a fixture that the real program's logging code wrote
// (testdata/real, see its MANIFEST) and returns its lines.
func realLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", path))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// moved returns line with every old replaced by new. The generators ran
// on loopback, whose addresses no jail ever bans; the tests move the
// peers to documentation addresses, and a line to another time, and leave
// everything else as the program wrote it.
func moved(line string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(line)
}

func identityConfig(t *testing.T, text string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type identityEvent struct {
	Event     string   `json:"event"`
	Jail      string   `json:"jail"`
	Host      string   `json:"host"`
	At        string   `json:"at"`
	Addrs     []string `json:"addrs"`
	Extension bool     `json:"extension"`
	Actions   []string `json:"actions"`
}

func identityEvents(t *testing.T, out string) []identityEvent {
	t.Helper()
	var evs []identityEvent
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev identityEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if ev.Event != "summary" {
			evs = append(evs, ev)
		}
	}
	return evs
}

func findEvent(evs []identityEvent, event, jail, host string, extension bool) (identityEvent, bool) {
	for _, ev := range evs {
		if ev.Event == event && ev.Jail == jail && ev.Host == host && ev.Extension == extension {
			return ev, true
		}
	}
	return identityEvent{}, false
}

func replayBoth(t *testing.T, cfg string, lines []string, name string) (jsonOut, text string) {
	t.Helper()
	log := nodeFixture(t, name+".log", strings.Join(lines, "\n")+"\n")
	c := loadConfig(t, cfg)
	jsonOut = runReplay(t, Options{Config: c, Logs: []string{log}, JSON: true, Workers: 1})
	checkContract(t, jsonOut)
	text = runReplay(t, Options{Config: c, Logs: []string{log}, Workers: 1})
	text = text[:strings.LastIndex(text, "\n\n")] // the lines/s figure varies
	golden.CheckString(t, filepath.Join("testdata", name+".jsonl"), jsonOut)
	golden.CheckString(t, filepath.Join("testdata", name+".txt"), text)
	return jsonOut, text
}

const (
	peerP    = "12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S" // two addresses, then a third while banned
	peerSelf = "12D3KooWNTARG6YYhe5XSHohxtXCoasRj81obGie5s1cEyLWX397" // the node's own (self_ids)
	peerL    = "12D3KooWLRKbBDUaas6cagkvzvCqb4fpNFHxm11oSPXx6qp3umcn" // reached through a relay
	peerF    = "12D3KooWFf9M12QWm9DCZat2mGzdVLfhGtj4dy47XTDFowPEGMvN" // names victims in err= and msg=
)

// go-libp2p v0.52 (slog), as its canonicallog wrote it: a jail keyed by
// identity bans peer P, seen from two addresses, with both; P showing up
// at a third address while banned bans that one too (an extension, which
// the unban lifts with the rest); the relayed peer counts under its peer
// ID and the relay's address is never learned or banned; the node's own
// peer ID is never banned; addresses and peer IDs inside err= and msg=
// (what a peer can make a node write) are never learned. The jail keyed
// by host bans none of these: P's hits are split over its addresses.
func TestReplayIdentityLibp2p(t *testing.T) {
	real := realLines(t, "libp2p/v0.52.0/console/raw.log")
	var lines []string
	for i, l := range real {
		switch {
		case i == 1: // P's second connection, from its second address
			l = moved(l, "/ip4/127.0.0.2/", "/ip4/198.51.100.3/")
		case strings.Contains(l, "peer="+peerP):
			l = moved(l, "/ip4/127.0.0.2/", "/ip4/198.51.100.2/")
		case strings.Contains(l, "peer="+peerSelf):
			l = moved(l, "/ip6/::1/", "/ip6/2001:db8:5::1/")
		}
		lines = append(lines, moved(l, "/ip4/127.0.0.5/", "/ip4/198.51.100.5/", "/ip4/127.0.0.6/", "/ip4/198.51.100.6/"))
	}
	lines = append(lines,
		// P at a third address during its ban, and a later line that
		// moves the replay past every ban's end.
		moved(real[0], "12:02:21.190Z", "12:02:40.000Z", "/ip4/127.0.0.2/", "/ip4/198.51.100.4/"),
		moved(real[12], "12:02:29.537Z", "12:05:00.000Z"))
	cfg := identityConfig(t, `self_ids: [`+peerSelf+`]
defaults: {findtime: 10m, maxretry: 3, bantime: 1m}
jails:
  p2p-id:
    filter: libp2p-peer-status
    key: id
    action: nftables
  p2p-host:
    filter: libp2p-peer-status
    action: dry-run
`)
	out, text := replayBoth(t, cfg, lines, "identity-libp2p")
	evs := identityEvents(t, out)

	ban, ok := findEvent(evs, "ban", "p2p-id", peerP, false)
	if !ok || !slices.Equal(ban.Addrs, []string{"198.51.100.2", "198.51.100.3"}) || !slices.Equal(ban.Actions, []string{"nftables"}) {
		t.Errorf("ban of P with both addresses and nftables: %+v (found %v)", ban, ok)
	}
	ext, ok := findEvent(evs, "ban", "p2p-id", peerP, true)
	if !ok || !slices.Equal(ext.Addrs, []string{"198.51.100.4"}) || ext.At != "2026-12-01T12:02:40.000Z" {
		t.Errorf("extension of P's ban to its third address: %+v (found %v)", ext, ok)
	}
	unban, ok := findEvent(evs, "unban", "p2p-id", peerP, false)
	if !ok || !slices.Equal(unban.Addrs, []string{"198.51.100.2", "198.51.100.3", "198.51.100.4"}) {
		t.Errorf("unban of P lifts every address: %+v (found %v)", unban, ok)
	}
	if ev, ok := findEvent(evs, "ban", "p2p-id", peerL, false); !ok || len(ev.Addrs) != 0 || len(ev.Actions) != 0 {
		t.Errorf("relayed peer: banned by its ID, with no address and no action to run: %+v (found %v)", ev, ok)
	}
	if _, ok := findEvent(evs, "ban", "p2p-host", peerL, false); !ok {
		t.Errorf("the key: host jail counts the relayed peer under its ID:\n%s", out)
	}
	for _, never := range []string{peerSelf, "198.51.100.5", "198.51.100.23", "198.51.100.24", "198.51.100.25", "2001:db8::66", "198.51.100.26"} {
		if strings.Contains(out, never) || strings.Contains(text, never) {
			t.Errorf("%s appears in the report: the node's own ID, the relay or an address a peer wrote:\n%s", never, text)
		}
	}
	for _, ev := range evs {
		if ev.Jail == "p2p-host" && strings.HasPrefix(ev.Host, "198.51.100.") && ev.Host != "198.51.100.6" {
			t.Errorf("the key: host jail banned %s; P's hits are split over its addresses", ev.Host)
		}
	}
}

const (
	flowA    = "16Uiu2HAmQ8WCeAJ1uvX6LkK4AfXdaXnWxAFSm1dh7xWwBRSzH9wZ"
	flowB    = "16Uiu2HAkwj1qgPPaPtMVjGc6JyjbQyE36sKTqWhq9f8NJdKHz1uN"
	flowC    = "QmY2kby3xt3ugu2QqJP5w24rP4HSakYgDFpAJy1ifSRkF7"
	flowSelf = "4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533" // node_id: the operator's own
	flowNode = "f9237c896507b8d654165c36b61c9a3080e6dd042dea562a4a494fbd73133634" // origin_id of the sync engine's lines
)

// flow-go v0.31+ as zerolog writes flow-go's call sites: the connection
// gater's "inbound connection established" lines teach which address each
// peer ID used (A from two) and, where they name it, the node ID's, so the slashing consumer's and rate limiter's
// lines, which carry no address, ban A with both; an address inside a
// field the peer controls (message_type, topic) is never learned; the
// node's own node_id, learned from its lines, is never banned even when a
// line blames it.
func TestReplayIdentityFlow(t *testing.T) {
	real := realLines(t, "flow-go/v0.31+/zerolog-json/raw.log")
	var lines []string
	for i, l := range real {
		switch {
		case i == 3: // A's second connection, from another address
			l = moved(l, "/ip4/127.0.0.2/", "/ip4/198.51.100.14/")
		default:
			l = moved(l, "/ip4/127.0.0.2/", "/ip4/198.51.100.12/", "/ip4/127.0.0.3/", "/ip4/198.51.100.13/", "/ip6/::1/", "/ip6/2001:db8:2::1/")
		}
		lines = append(lines, l)
	}
	// Two slashing lines that blame the node's own ID (as a misconfigured
	// or lying component could).
	for _, at := range []string{"12:03:06.000Z", "12:03:07.000Z"} {
		lines = append(lines, moved(real[4], `"peer_id":"`+flowA+`"`, `"peer_id":"`+flowSelf+`"`, "12:03:05.195Z", at))
	}
	cfg := identityConfig(t, `jails:
  flow-byzantine:
    filter: flow-suspicious
    key: id
    findtime: 10m
    maxretry: 2
    bantime: 1h
    action: nftables
`)
	out, _ := replayBoth(t, cfg, lines, "identity-flow")
	evs := identityEvents(t, out)
	want := map[string][]string{
		flowA: {"198.51.100.14", "198.51.100.12"},
		flowB: {"2001:db8:2::/64"},
		flowC: {"198.51.100.13"},
		// The node ID of A, from the one gater line that names it
		// (remote_node_id): the sync engine's lines blame it by origin_id.
		flowNode: {"198.51.100.14"},
	}
	for id, addrs := range want {
		ev, ok := findEvent(evs, "ban", "flow-byzantine", id, false)
		if !ok || !slices.Equal(ev.Addrs, addrs) {
			t.Errorf("ban of %s: %+v (found %v), want addrs %v", id, ev, ok, addrs)
		}
	}
	for _, never := range []string{flowSelf, "198.51.100.40", "198.51.100.41", "198.51.100.42"} {
		if strings.Contains(out, never) {
			t.Errorf("%s appears in the report:\n%s", never, out)
		}
	}
}

// Bitcoin Core's "Disconnecting and discouraging peer N!" names a peer
// number only; the connection lines of the same log map it to the address
// bitcoind wrote, so the ban of the number bans that address, and a user
// agent that imitates "peeraddr" teaches nothing.
func TestReplayIdentityBitcoin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config", "testdata", "stock", "nodes", "bitcoin.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	cfg := identityConfig(t, `jails:
  bitcoin:
    filter: bitcoin-discouraged
    key: id
    maxretry: 1
    action: nftables
`)
	out, _ := replayBoth(t, cfg, lines, "identity-bitcoin")
	evs := identityEvents(t, out)
	for id, addr := range map[string]string{"7": "198.51.100.10", "5": "198.51.100.5"} {
		ev, ok := findEvent(evs, "ban", "bitcoin", id, false)
		if !ok || !slices.Equal(ev.Addrs, []string{addr}) {
			t.Errorf("ban of peer %s: %+v (found %v), want %s", id, ev, ok, addr)
		}
	}
	if strings.Contains(out, "203.0.113.66") {
		t.Errorf("an address from a user agent or a reason was learned:\n%s", out)
	}
	if len(evs) != 2 {
		t.Errorf("%d events, want the two bans:\n%s", len(evs), fmt.Sprint(out))
	}
}
