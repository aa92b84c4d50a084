package filter

import (
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// FuzzIdentityPatterns compiles arbitrary templates as fail, learn and
// self patterns and runs them on arbitrary lines: no panic; an identity a
// hit carries is text of the line within the key limit; a learned hit
// teaches an identity with its address or names the node's own identity,
// and blames no one.
func FuzzIdentityPatterns(f *testing.F) {
	f.Add(`peer=<ID> bad`, `conn peer=<ID> addr=<HOST>$`, `^PeerID: <ID>$`, "conn peer=Qm1 addr=/ip4/198.51.100.1/tcp/1")
	f.Add(`peer=<ID> bad`, `conn peer=<ID> addr=<HOST>$`, `^PeerID: <ID>$`, "conn peer=Qm1 addr=/ip4/198.51.100.1/tcp/1/p2p/R/p2p-circuit")
	f.Add(`peer=<ID> bad`, `conn peer=<ID> addr=<HOST>$`, `^PeerID: <ID>$`, "PeerID: 12D3KooWx")
	f.Add(`peer=<ID> addr=<HOST> bad`, `x <HOST> <ID>`, `^<PREFIX>PeerID: <ID>$`, "peer=Qm1 addr=/dns4/example.com/tcp/1 bad")
	f.Fuzz(func(t *testing.T, fail, learn, self, line string) {
		fl, err := NewRegex("fuzz", &RegexSpec{Fail: []string{fail}, Learn: []string{learn}, Self: []string{self}})
		if err != nil {
			return
		}
		hit, out := fl.Match(&logline.Line{Text: []byte(line)})
		for _, id := range []string{hit.ID, hit.SelfID} {
			if len(id) > maxIDLen || !strings.Contains(line, id) {
				t.Fatalf("identity %q is not text of the line (or too long): %q", id, line)
			}
		}
		if out != Learned {
			return
		}
		teaches := hit.Host.Addr.IsValid() && hit.Host.ID == "" && hit.ID != ""
		if !teaches && !(hit.SelfID != "" && !hit.Host.IsValid()) {
			t.Fatalf("learned %+v from %q: neither an identity with its address nor an own identity", hit, line)
		}
		if hit.Weight != 0 {
			t.Fatalf("a learned hit counts (weight %d): %q", hit.Weight, line)
		}
	})
}

// FuzzJSONIdentity runs the flow-go filter's shape, with learn conditions
// and the own-ID field, over arbitrary lines: a learned hit teaches an
// identity with its address or names the own identity, and identities are
// within the key limit.
func FuzzJSONIdentity(f *testing.F) {
	f.Add(`{"node_id":"n","peer_id":"p","remote_address":"/ip4/198.51.100.1/tcp/3569","message":"inbound connection established"}`)
	f.Add(`{"node_id":"n","peer_id":"p","remote_address":"/ip4/198.51.100.1/tcp/1/p2p/R/p2p-circuit"}`)
	f.Add(`{"node_id":"n","suspicious":true,"peer_id":"p"}`)
	f.Add(`{"peer_id":"p","remote_address":"\u002fip4/198.51.100.1/tcp/1"}`)
	f.Add(`{"peer_id":"p","remote_node_id":"n2","remote_address":"/ip4/198.51.100.1/tcp/3569"}`)
	f.Add(`{"suspicious":true,"peer_id":"p","remote_node_id":"unknown","remote_address":"/ip4/198.51.100.1/tcp/3569"}`)
	fl, err := NewJSON("fuzz", &JSONSpec{
		Match: []Condition{{Path: "suspicious", Op: OpEqual, Values: []any{true}}},
		Host:  "remote_address", ID: "peer_id", FallbackIDs: []string{"remote_peer", "origin_id"},
		Learn:  []Condition{{Path: "remote_address", Op: OpExists, Exists: true}},
		SelfID: "node_id",
		AlsoID: "remote_node_id",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		hit, out := fl.Match(&logline.Line{Text: []byte(line)})
		if len(hit.ID) > maxID || len(hit.SelfID) > maxID || len(hit.AlsoID) > maxID {
			t.Fatalf("identity over the limit: %+v", hit)
		}
		// The other identity comes only with a learned identity and its
		// address, never from a failure line.
		if hit.AlsoID != "" && (out != Learned || hit.ID == "" || hit.AlsoID == hit.ID || !hit.Host.Addr.IsValid()) {
			t.Fatalf("also_id %q on %v %+v from %q", hit.AlsoID, out, hit, line)
		}
		if out == Learned && !(hit.Host.Addr.IsValid() && hit.ID != "") && !(hit.SelfID != "" && !hit.Host.IsValid()) {
			t.Fatalf("learned %+v from %q", hit, line)
		}
	})
}
