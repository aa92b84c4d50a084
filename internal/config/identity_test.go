package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

func TestIdentityKeys(t *testing.T) {
	c, err := Parse("p.yaml", []byte(`self_ids: [12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S, 4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533]
correlation_ttl: 2h
correlation_max: 5000
defaults: {key: id}
jails:
  flow:
    filter: flow-suspicious
    source: {files: /x}
  libp2p:
    filter: libp2p-peer-status
    key: host
    source: {files: /x}
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S", "4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533"}; !slices.Equal(c.SelfIDs, want) {
		t.Errorf("SelfIDs = %v", c.SelfIDs)
	}
	if want := (correlate.Config{TTL: 2 * time.Hour, Max: 5000, MaxAddrs: correlate.DefaultMaxAddrs}); c.Correlation != want {
		t.Errorf("Correlation = %+v, want %+v", c.Correlation, want)
	}
	if c.Jails[0].Policy.Key != jail.KeyID || c.Jails[1].Policy.Key != jail.KeyHost {
		t.Errorf("keys: %v, %v; want id (from defaults), host", c.Jails[0].Policy.Key, c.Jails[1].Policy.Key)
	}

	d, err := Parse("p.yaml", []byte("jails: {a: {filter: sshd, source: {files: /x}}}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Correlation != (correlate.Config{TTL: time.Hour, Max: 100_000, MaxAddrs: 16}) || d.SelfIDs != nil || d.Jails[0].Policy.Key != jail.KeyHost {
		t.Errorf("defaults: %+v %v %v", d.Correlation, d.SelfIDs, d.Jails[0].Policy.Key)
	}
}

func TestIdentityKeyErrors(t *testing.T) {
	const jails = "jails:\n  a:\n    filter: sshd\n    source: {files: /x}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"key", jails + "    key: peer\n", `p.yaml:5:10: jail "a": key: "peer" is not a key (one of host, id)`},
		{"self id is an address", "self_ids: [198.51.100.7]\n" + jails,
			`p.yaml:1:12: self_ids[0]: "198.51.100.7" is not an identity (a peer ID or node ID, e.g. 12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S); addresses go in ignoreip`},
		{"empty self_ids", "self_ids: []\n" + jails, `p.yaml:1:11: self_ids: empty list (e.g. [12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S])`},
		{"ttl", "correlation_ttl: 90d\n" + jails, `p.yaml:1:18: correlation_ttl: 90d is out of range (above 0, at most 30d; e.g. 1h)`},
		{"max", "correlation_max: 0\n" + jails, `p.yaml:1:18: correlation_max: 0 is out of range 1..10000000 (e.g. 100000)`},
		{"learn without an id", "filters:\n  f: {regex: {fail: ['x <HOST>'], learn: ['y <HOST>']}}\n" + jails,
			`p.yaml:2:43: filter "f": regex.learn[0]: a learn pattern needs both <HOST> and <ID> (e.g. 'connected peer=<ID> addr=<HOST>')`},
		{"self with a host", "filters:\n  f: {regex: {fail: ['x <HOST>'], self: ['me <HOST>']}}\n" + jails,
			`p.yaml:2:42: filter "f": regex.self[0]: a self pattern needs <ID> and no <HOST> (e.g. '^PeerID: <ID>$')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml), LoadOptions{})
			if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// An identity, like an address, comes only from where the program writes
// it: a peer ID, node ID or peer number inside a field the peer controls
// (an error text, a protocol name, a user agent) is never the hit's.
func TestStockHostileIdentity(t *testing.T) {
	const evil = "12D3KooWEViLEViLEViLEViLEViLEViLEViLEViLEViLEViLEViL"
	tests := []struct {
		filter, line string
		out          filter.Outcome
		host, id     string // the hit's Host and ID
	}{
		{"libp2p-peer-status", `time=2026-12-01T12:02:34.953Z level=INFO msg=CANONICAL_PEER_STATUS peer=12D3KooWFf9M addr=/ip4/198.51.100.6/tcp/1 sample_rate=1 handshake_failure=noise err="peer=` + evil + ` addr=/ip4/203.0.113.66/tcp/1"`,
			filter.Match, "198.51.100.6", "12D3KooWFf9M"},
		{"libp2p-peer-status", `time=2026-12-01T12:02:34.953Z level=INFO msg=CANONICAL_PEER_STATUS peer="" addr=/ip4/198.51.100.6/tcp/1 sample_rate=1 handshake_failure=noise err="peer=` + evil + `"`,
			filter.Match, "198.51.100.6", ""},
		{"libp2p-misbehaving", `2026-12-01T12:02:34.953Z	WARN	canonical-log	x.go:1	CANONICAL_MISBEHAVING_PEER: peer=12D3KooWFf9M addr=/ip4/198.51.100.6/tcp/1 component=bitswap err="dial back to /ip4/203.0.113.66/tcp/4001/p2p/` + evil + ` failed" msg="x"`,
			filter.Match, "198.51.100.6", "12D3KooWFf9M"},
		{"flow-suspicious", `{"level":"error","node_id":"aa","peer_id":"16Uiu2HAmQ8","misbehavior":"x","message_type":"\",\"peer_id\":\"` + evil + `\",\"remote_address\":\"/ip4/203.0.113.66/tcp/1","suspicious":true,"time":"2026-12-01T12:03:05.28Z"}`,
			filter.Match, "16Uiu2HAmQ8", "16Uiu2HAmQ8"},
		{"flow-suspicious", `{"level":"info","node_id":"aa","component":"connection_gater","peer_id":"16Uiu2HAmQ8","remote_address":"/ip4/198.51.100.12/tcp/3569","error":"peer_id=` + evil + `","message":"inbound connection established"}`,
			filter.Learned, "198.51.100.12", "16Uiu2HAmQ8"},
		// bitcoind strips "=" from a user agent, so it can only imitate
		// the fields without it.
		{"bitcoin-misbehaving", `2026-12-01T08:56:20Z [net] receive version message: /Satoshi:27.0.0/ txrelay1, peer1, peeraddr203.0.113.66:8333: version 70016, blocks=874000, us=192.0.2.1:8333, txrelay=1, peer=9, peeraddr=198.51.100.11:8333`,
			filter.Learned, "198.51.100.11", "9"},
	}
	for _, tt := range tests {
		hit, out := stockFilter(t, tt.filter).Match(&logline.Line{Text: []byte(tt.line)})
		if out != tt.out || hit.Host.String() != tt.host || hit.ID != tt.id || strings.Contains(hit.ID+hit.SelfID, "EViL") {
			t.Errorf("%s: %q\n got %v %s id=%q, want %v %s id=%q", tt.filter, tt.line, out, hit.Host, hit.ID, tt.out, tt.host, tt.id)
		}
	}
}

// flow-go's gater names a known peer's node ID (remote_node_id) beside its
// peer ID on the line that teaches its address: the hit carries both. The
// rejection of an unknown peer writes remote_node_id "unknown", which a
// failure line never passes on; a node ID inside a text is no field.
func TestStockFlowNodeIDLearned(t *testing.T) {
	const node = "f9237c896507b8d654165c36b61c9a3080e6dd042dea562a4a494fbd73133634"
	tests := []struct {
		line       string
		out        filter.Outcome
		id, alsoID string
	}{
		{`{"level":"info","node_role":"access","node_id":"4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533","component":"connection_gater","peer_id":"16Uiu2HAmQ8WCeAJ1uvX6LkK4AfXdaXnWxAFSm1dh7xWwBRSzH9wZ","remote_address":"/ip4/198.51.100.12/tcp/3569","remote_node_id":"` + node + `","role":"execution","time":"2026-12-01T12:03:05.154Z","message":"inbound connection established"}`,
			filter.Learned, "16Uiu2HAmQ8WCeAJ1uvX6LkK4AfXdaXnWxAFSm1dh7xWwBRSzH9wZ", node},
		{`{"level":"error","node_role":"access","node_id":"4a6f7264616e20536368616c6d00a875801849f2b5bea9e9d2c9603f00e5d533","component":"connection_gater","peer_id":"QmY2kby3xt3ugu2QqJP5w24rP4HSakYgDFpAJy1ifSRkF7","remote_address":"/ip4/198.51.100.13/tcp/40112","remote_node_id":"unknown","role":"unknown","error":"failed to get identity of unknown peer with peer id QmY2kby3xt3ugu2QqJP5w24rP4HSakYgDFpAJy1ifSRkF7","local_address":"/ip4/127.0.0.1/tcp/3569","suspicious":true,"time":"2026-12-01T12:03:05.114Z","message":"rejected inbound connection"}`,
			filter.Match, "QmY2kby3xt3ugu2QqJP5w24rP4HSakYgDFpAJy1ifSRkF7", ""},
		{`{"level":"info","node_id":"aa","component":"connection_gater","peer_id":"16Uiu2HAmQ8","remote_address":"/ip4/198.51.100.12/tcp/3569","error":"remote_node_id=` + node + `","message":"inbound connection established"}`,
			filter.Learned, "16Uiu2HAmQ8", ""},
	}
	for _, tt := range tests {
		hit, out := stockFilter(t, "flow-suspicious").Match(&logline.Line{Text: []byte(tt.line)})
		if out != tt.out || hit.ID != tt.id || hit.AlsoID != tt.alsoID {
			t.Errorf("%q\n got %v id=%q also=%q, want %v id=%q also=%q", tt.line, out, hit.ID, hit.AlsoID, tt.out, tt.id, tt.alsoID)
		}
	}
}
