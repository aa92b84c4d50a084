package jail

import (
	"net/netip"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
)

// peerHit is a line naming peer id at address addr ("" for none).
func peerHit(id, addr string) filter.Hit {
	h := filter.Hit{ID: id, Weight: 1}
	if addr != "" {
		h.Host = filter.Host{Addr: netip.MustParseAddr(addr)}
	} else {
		h.Host = filter.Host{ID: id}
	}
	return h
}

func prefixes(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, Key{Prefix: p}.String())
	}
	return out
}

func TestKeyOf(t *testing.T) {
	byID, byHost := basic(), basic()
	byID.Key = KeyID
	id, host := mustNew(t, byID), mustNew(t, byHost)
	tests := []struct {
		hit            filter.Hit
		wantID, wantHo string
	}{
		{peerHit("P", "198.51.100.7"), "P", "198.51.100.7"},
		{peerHit("P", ""), "P", "P"}, // relayed, or no address: the identity
		{filter.Hit{Host: filter.Host{Addr: netip.MustParseAddr("198.51.100.7")}}, "198.51.100.7", "198.51.100.7"},
	}
	for _, tt := range tests {
		if k, _ := id.KeyOf(&tt.hit); k.String() != tt.wantID {
			t.Errorf("key: id, %+v: %v, want %s", tt.hit, k, tt.wantID)
		}
		if k, _ := host.KeyOf(&tt.hit); k.String() != tt.wantHo {
			t.Errorf("key: host, %+v: %v, want %s", tt.hit, k, tt.wantHo)
		}
	}
}

// A ban of an identity carries its addresses seen within the TTL, keyed
// as the jail keys addresses, without ignored ones; an address seen while
// it is banned extends the ban; the unban lifts them all.
func TestIdentityBanAddrs(t *testing.T) {
	const s = time.Second
	tb := correlate.New(correlate.Config{TTL: time.Hour})
	tb.Learn("P", netip.MustParseAddr("198.51.100.9"), ts(-2*time.Hour)) // long before: expired
	for _, a := range []string{"198.51.100.7", "2001:db8:1:2::1", "2001:db8:1:2::2", "127.0.0.1", "10.1.2.3"} {
		tb.Learn("P", netip.MustParseAddr(a), ts(0))
	}
	cfg := basic()
	cfg.Key = KeyID
	cfg.IgnoreIP = mustPrefixes(t, "10.0.0.0/8")
	j := mustNew(t, cfg)
	j.SetCorrelation(tb)
	var d Decision
	for i := range 3 {
		d, _ = j.Add(peerHit("P", ""), ts(time.Duration(i)*s), nil)
	}
	if d.Action != ActionBan || d.Key != (Key{ID: "P"}) {
		t.Fatalf("no ban of P: %+v", d)
	}
	if got := prefixes(d.Addrs); !slices.Equal(got, []string{"198.51.100.7", "2001:db8:1:2::/64"}) {
		t.Errorf("ban addrs %v, want the address and the /64 (not the expired, loopback or ignoreip ones)", got)
	}
	if !j.HasIdentityBans() {
		t.Error("HasIdentityBans is false with P banned")
	}
	if _, ok := j.SeenAt("P", netip.MustParseAddr("2001:db8:1:2::3"), ts(5*s)); ok {
		t.Error("an address inside a covered /64 extended the ban")
	}
	if _, ok := j.SeenAt("P", netip.MustParseAddr("10.9.9.9"), ts(5*s)); ok {
		t.Error("an ignored address extended the ban")
	}
	if _, ok := j.SeenAt("Q", netip.MustParseAddr("198.51.100.8"), ts(5*s)); ok {
		t.Error("an identity that is not banned was extended")
	}
	ext, ok := j.SeenAt("P", netip.MustParseAddr("198.51.100.8"), ts(5*s))
	if !ok || ext.Action != ActionBan || ext.Key != d.Key || !ext.Until.Equal(d.Until) || !ext.At.Equal(ts(5*s)) ||
		ext.Hits != 0 || !slices.Equal(prefixes(ext.Addrs), []string{"198.51.100.8"}) {
		t.Errorf("extension %+v (ok %v)", ext, ok)
	}
	if _, ok := j.SeenAt("P", netip.MustParseAddr("198.51.100.8"), ts(6*s)); ok {
		t.Error("the same new address extended the ban twice")
	}
	if bans := j.Bans(); len(bans) != 1 || len(bans[0].Addrs) != 3 {
		t.Errorf("Bans() = %+v, want P with 3 addresses (for status)", bans)
	}
	un := j.Expire(d.Until)
	if len(un) != 1 || !slices.Equal(prefixes(un[0].Addrs), []string{"198.51.100.7", "2001:db8:1:2::/64", "198.51.100.8"}) {
		t.Errorf("unban %+v, want every address the ban covered", un)
	}
	if j.HasIdentityBans() {
		t.Error("HasIdentityBans after the unban")
	}
}

func TestSelfIDsNeverBanned(t *testing.T) {
	cfg := basic()
	cfg.Key = KeyID
	j := mustNew(t, cfg)
	j.SetSelfIDs([]string{"ME"})
	for i := range 5 {
		if _, v := j.Add(peerHit("ME", "198.51.100.7"), ts(time.Duration(i)*time.Second), nil); v != IgnoredHost {
			t.Fatalf("hit %d on the own identity: %v, want ignored", i, v)
		}
	}
	if why, ok := j.Ignores(Key{ID: "ME"}); !ok || why != "own identity (self_ids) ME" {
		t.Errorf("Ignores(ME) = %q, %v", why, ok)
	}
	// In a jail keyed by host, the address of such a line still counts:
	// self_ids protects identities, ignoreip addresses.
	host := mustNew(t, basic())
	host.SetSelfIDs([]string{"ME"})
	if _, v := host.Add(peerHit("ME", "198.51.100.7"), ts(0), nil); v != Counted {
		t.Errorf("key: host, own identity at a foreign address: %v, want counted", v)
	}
	if _, v := host.Add(peerHit("ME", ""), ts(0), nil); v != IgnoredHost {
		t.Errorf("key: host, own identity alone (relayed): %v, want ignored", v)
	}
}

func TestRestoreKeepsAddrs(t *testing.T) {
	j := mustNew(t, basic())
	b := Ban{Key: Key{ID: "P"}, At: ts(0), Until: ts(time.Hour), Offences: 1, Addrs: mustPrefixes(t, "198.51.100.7/32")}
	j.Restore(b)
	b.Addrs[0] = netip.MustParsePrefix("203.0.113.1/32") // the caller's slice is not the jail's
	un, ok := j.Unban(Key{ID: "P"}, ts(time.Minute))
	if !ok || !slices.Equal(prefixes(un.Addrs), []string{"198.51.100.7"}) {
		t.Errorf("unban after restore %+v", un)
	}
}

// A hit's identity may share the memory of its line (filter.Hit.ID): what
// the jail keeps (windows, bans, offences, decisions) is its own copy.
func TestHitIdentityMemoryNotKept(t *testing.T) {
	cfg := basic()
	cfg.Key = KeyID
	j := mustNew(t, cfg)
	buf := []byte("PEER1")
	h := filter.Hit{ID: unsafe.String(&buf[0], len(buf)), Weight: 1}
	var d Decision
	for i := range 3 {
		d, _ = j.Add(h, ts(time.Duration(i)*time.Second), nil)
		if i == 0 {
			copy(buf, "PEER1") // the same text in the next line's buffer
		}
	}
	copy(buf, "XXXXX") // the buffer is reused for another line
	if d.Key.ID != "PEER1" {
		t.Errorf("decision key %q, want PEER1", d.Key.ID)
	}
	if bans := j.Bans(); len(bans) != 1 || bans[0].Key.ID != "PEER1" {
		t.Errorf("bans %+v", bans)
	}
	if _, ok := j.Unban(Key{ID: "PEER1"}, ts(time.Minute)); !ok {
		t.Error("the ban is not found under PEER1")
	}
}
