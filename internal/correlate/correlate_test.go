package correlate

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func addrs(t *testing.T, tb *Table, id string, when time.Time) []string {
	t.Helper()
	var out []string
	for _, a := range tb.Addrs(nil, id, when) {
		out = append(out, a.String())
	}
	return out
}

func TestLearnAndLookup(t *testing.T) {
	const peer = "12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S"
	tb := New(Config{TTL: time.Hour})
	steps := []struct {
		addr string
		at   time.Duration
		new  bool
	}{
		{"198.51.100.7", 0, true},
		{"198.51.100.7", time.Minute, false}, // seen again: not new
		{"2001:db8::7", 2 * time.Minute, true},
		{"::ffff:198.51.100.7", 3 * time.Minute, false}, // mapped is the same host
		{"fe80::1%eth0", 4 * time.Minute, true},
		{"fe80::1%eth1", 5 * time.Minute, false}, // zones are dropped
	}
	for _, s := range steps {
		if got := tb.Learn(peer, netip.MustParseAddr(s.addr), at(s.at)); got != s.new {
			t.Errorf("Learn(%s at %v) = %v, want %v", s.addr, s.at, got, s.new)
		}
	}
	got := addrs(t, tb, peer, at(6*time.Minute))
	want := []string{"fe80::1", "198.51.100.7", "2001:db8::7"} // most recently seen first
	if !slices.Equal(got, want) {
		t.Errorf("Addrs = %v, want %v", got, want)
	}
	if got := addrs(t, tb, "someone-else", at(0)); got != nil {
		t.Errorf("unknown identity: %v", got)
	}
	if tb.Learn("", netip.MustParseAddr("198.51.100.1"), at(0)) || tb.Learn(peer, netip.Addr{}, at(0)) {
		t.Error("an empty identity or address was learned")
	}
}

func TestTTLByLineTime(t *testing.T) {
	tb := New(Config{TTL: 10 * time.Minute})
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	tb.Learn("p", a, at(0))
	tb.Learn("p", b, at(5*time.Minute))
	if got := addrs(t, tb, "p", at(9*time.Minute)); !slices.Equal(got, []string{"198.51.100.2", "198.51.100.1"}) {
		t.Errorf("within ttl: %v", got)
	}
	if got := addrs(t, tb, "p", at(10*time.Minute)); !slices.Equal(got, []string{"198.51.100.2"}) {
		t.Errorf("first address past ttl: %v", got)
	}
	// An address seen again after its ttl is new again: a ban must cover it.
	if !tb.Learn("p", a, at(11*time.Minute)) {
		t.Error("an address seen again after ttl was not reported new")
	}
	// An identity whose every address expired is pruned by later learning.
	tb.Learn("q", a, at(12*time.Minute))
	tb.Learn("r", a, at(40*time.Minute))
	if tb.Len() != 1 {
		t.Errorf("Len = %d after everything but r expired, want 1", tb.Len())
	}
}

func TestCapEvictsOneNotSeenAgain(t *testing.T) {
	tb := New(Config{Max: 3, TTL: time.Hour})
	a := netip.MustParseAddr("198.51.100.1")
	// CLOCK: an identity seen again since the hand passed is kept, the
	// first one seen only once goes.
	for i, id := range []string{"a", "b", "c"} {
		tb.Learn(id, a, at(time.Duration(i)*time.Minute))
	}
	tb.Learn("a", a, at(3*time.Minute)) // a seen again; b and c once
	tb.Learn("d", a, at(4*time.Minute))
	if tb.Len() != 3 || tb.Evicted() != 1 {
		t.Fatalf("Len %d Evicted %d, want 3 and 1", tb.Len(), tb.Evicted())
	}
	if got := addrs(t, tb, "b", at(5*time.Minute)); got != nil {
		t.Errorf("b should have been evicted: %v", got)
	}
	for _, id := range []string{"a", "c", "d"} {
		if got := addrs(t, tb, id, at(5*time.Minute)); len(got) != 1 {
			t.Errorf("%s lost: %v", id, got)
		}
	}
}

func TestAddressesPerIdentityBounded(t *testing.T) {
	tb := New(Config{MaxAddrs: 4, TTL: time.Hour})
	for i := range 10 {
		tb.Learn("p", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), at(time.Duration(i)*time.Second))
	}
	got := addrs(t, tb, "p", at(time.Minute))
	want := []string{"198.51.100.9", "198.51.100.8", "198.51.100.7", "198.51.100.6"}
	if !slices.Equal(got, want) {
		t.Errorf("Addrs = %v, want the 4 most recent %v", got, want)
	}
}

// A million distinct identities (a flood of made-up peer IDs) leave the table
// at its cap, in memory that stays bounded however many more arrive.
func TestMillionIdentitiesStayUnderCap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million identities")
	}
	const max = 100_000
	tb := New(Config{Max: max, TTL: time.Hour})
	a := netip.MustParseAddr("198.51.100.1")
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	var atCap uint64
	for i := range 1_000_000 {
		tb.Learn(fmt.Sprintf("12D3KooW%044d", i), a, at(time.Duration(i)*time.Millisecond))
		if i == max-1 {
			atCap = heap()
		}
	}
	after := heap()
	if tb.Len() != max || tb.Evicted() != 1_000_000-max {
		t.Fatalf("Len %d Evicted %d, want %d and %d", tb.Len(), tb.Evicted(), max, 1_000_000-max)
	}
	perID := float64(after-before) / max
	t.Logf("heap: %.0f bytes per identity at the cap; %d MiB at the cap, %d MiB after 1M", perID, (atCap-before)>>20, (after-before)>>20)
	// Loose bounds: the entry, its map slot and a 52-byte name are well
	// under 1 KiB; growth past the cap would be about ten times that.
	if perID > 1024 {
		t.Errorf("%.0f bytes per identity, want under 1024", perID)
	}
	if after > before && atCap > before && after-before > 2*(atCap-before) {
		t.Errorf("heap grew past the cap: %d bytes at the cap, %d after 1M", atCap-before, after-before)
	}
	runtime.KeepAlive(tb)
}

// Names longer than the inline space and many addresses per identity (the
// slab) round-trip, and a removed entry's slab block is reused.
func TestLongNamesAndSlab(t *testing.T) {
	tb := New(Config{MaxAddrs: 6, Max: 2, TTL: time.Hour})
	long := fmt.Sprintf("%0200d", 7)
	for i := range 5 {
		tb.Learn(long, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), at(time.Duration(i)*time.Second))
	}
	if got := addrs(t, tb, long, at(time.Minute)); len(got) != 5 || got[0] != "198.51.100.4" {
		t.Errorf("long name: %v", got)
	}
	if got := addrs(t, tb, long[:199], at(time.Minute)); got != nil {
		t.Errorf("a prefix of a long name found its entry: %v", got)
	}
	slab := len(tb.slab)
	tb.Learn("b", netip.MustParseAddr("198.51.100.9"), at(2*time.Minute))
	tb.Learn("b", netip.MustParseAddr("198.51.100.9"), at(2*time.Minute)) // seen again: kept
	tb.Learn("c", netip.MustParseAddr("198.51.100.9"), at(3*time.Minute)) // evicts the long name
	for i := range 4 {
		tb.Learn("c", netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), at(4*time.Minute))
	}
	if len(tb.slab) != slab || len(tb.long) != 0 {
		t.Errorf("slab grew from %d to %d, %d long names left: a freed block was not reused", slab, len(tb.slab), len(tb.long))
	}
	if got := addrs(t, tb, "c", at(5*time.Minute)); len(got) != 5 {
		t.Errorf("c: %v", got)
	}
}
