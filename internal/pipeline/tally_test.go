package pipeline

import (
	"maps"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/peerjail/peerjail/internal/jail"
)

// The tally counts exactly what a map per jail counted: keys that
// differ only in form (IPv4 and IPv4-mapped IPv6, prefix length, an
// identity that looks like an address) stay apart, and an identity whose
// memory is reused is kept as it was.
func TestHostTallyCountsLikeAMap(t *testing.T) {
	p := netip.MustParsePrefix
	buf := []byte("peer-a")
	keys := []jail.Key{
		{Prefix: p("192.0.2.1/32")},
		{Prefix: p("::ffff:192.0.2.1/128")},
		{Prefix: p("192.0.2.1/32")},
		{Prefix: p("2001:db8::/64")},
		{Prefix: p("2001:db8::/56")},
		{Prefix: p("fe80::1/128")},
		{Prefix: p("::/0")},
		{Prefix: p("0.0.0.0/0")},
		{Prefix: p("fe80::1/128")},
		{ID: "192.0.2.1"},
		{ID: "peer-a"},
		{ID: "peer-a"},
		{Prefix: netip.PrefixFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 32)},
	}
	a, b := &Lane{tally: newHostTally()}, &Lane{tally: newHostTally()}
	want, wantB := map[jail.Key]int{}, map[jail.Key]int{}
	for n, k := range keys {
		want[k]++
		if k.ID == "peer-a" {
			k.ID = unsafe.String(&buf[0], len(buf)) // a line's memory, written over later
		}
		a.tally.add(k)
		if n%2 == 0 {
			b.tally.add(k)
			wantB[jail.Key{Prefix: k.Prefix, ID: strings.Clone(k.ID)}]++
		}
	}
	copy(buf, "peer-b")
	if got := a.HostHits(); !maps.Equal(got, want) || a.HostCount() != len(want) || len(want) != 10 {
		t.Errorf("hits %v (%d hosts), want %v", got, a.HostCount(), want)
	}
	if got := b.HostHits(); !maps.Equal(got, wantB) || b.HostCount() != len(wantB) || len(wantB) != 6 {
		t.Errorf("second lane: %v (%d hosts), want %v", got, b.HostCount(), wantB)
	}
}

// tallyKeys returns n keys of the forms a replay counts: IPv4 /32s,
// IPv6 /128s and /64s, and IPv4-mapped addresses that must stay apart
// from their IPv4 twins, with hits spread unevenly over them.
func tallyKeys(n int) []netip.Prefix {
	out := make([]netip.Prefix, 0, n)
	for i := range n {
		var a netip.Addr
		bits := 128
		switch i % 4 {
		case 0:
			a, bits = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32
		case 1:
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 24), byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		case 2:
			a, bits = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 4: byte(i >> 8), 5: byte(i)}), 64
		case 3:
			a = netip.AddrFrom4([4]byte{10, byte((i - 3) >> 16), byte((i - 3) >> 8), byte(i - 3)})
			a = netip.AddrFrom16(a.As16()) // the mapped twin of an IPv4 key
		}
		out = append(out, netip.PrefixFrom(a, bits))
	}
	return out
}

// Through many growths of the table the tally counts what a map counts.
func TestAddrTableGrows(t *testing.T) {
	keys := tallyKeys(5000)
	var tab addrTable
	want := map[netip.Prefix]int{}
	for i := range 4 * len(keys) {
		k := keys[(i*7919)%len(keys)%(1+i/4)]
		tab.add(k)
		want[k]++
	}
	if got := tableCounts(&tab); !maps.Equal(got, want) || tab.used != len(want) {
		t.Fatalf("table holds %d keys (%d used), want %d", len(got), tab.used, len(want))
	}
	if 4*tab.used > 3*len(tab.slots) {
		t.Errorf("%d keys in %d slots: more than three quarters full", tab.used, len(tab.slots))
	}
}

// Keys that land on the table's last slot probe on past its end, to its
// first slots, and each still counts apart: an IPv4 address, its mapped
// twin and other prefix lengths of it land anywhere.
func TestAddrTableCollisions(t *testing.T) {
	var tab addrTable
	tab.add(netip.MustParsePrefix("192.0.2.1/32")) // sizes the table and draws the seed
	last := uint64(len(tab.slots) - 1)
	var colliding []netip.Prefix
	for i := 0; len(colliding) < 4; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 32)
		if hi, lo, meta := slotKey(p); tab.hash(hi, lo, meta)&last == last {
			colliding = append(colliding, p)
		}
	}
	want := map[netip.Prefix]int{netip.MustParsePrefix("192.0.2.1/32"): 1}
	for n, p := range colliding {
		for range n + 1 {
			tab.add(p)
			want[p]++
		}
	}
	twin := netip.PrefixFrom(netip.AddrFrom16(colliding[0].Addr().As16()), 128)
	tab.add(twin)
	want[twin]++
	if got := tableCounts(&tab); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if tab.slots[last].meta == 0 || tab.slots[0].meta == 0 {
		t.Errorf("the colliding keys did not fill the last slot and wrap to the first")
	}
}

// Queued hits count as soon as the tally is read, whether or not the
// queue filled up or was flushed in between, and count what added hits
// count.
func TestAddrTableQueue(t *testing.T) {
	keys := tallyKeys(3000)
	var queued, direct addrTable
	for i := range 3 * maxPending {
		k := keys[(i*7919)%len(keys)%(1+i/3)]
		queued.addLater(k)
		direct.add(k)
		if i == maxPending/2 {
			queued.flush()
		}
	}
	if len(queued.pending) == 0 {
		t.Fatal("nothing left queued: the test reads no pending hits")
	}
	lane := &Lane{tally: &hostTally{addrs: queued, ids: map[string]int32{}}}
	want := tableCounts(&direct)
	if n := lane.HostCount(); n != len(want) {
		t.Errorf("HostCount %d, want %d", n, len(want))
	}
	got := map[netip.Prefix]int{}
	for k, n := range lane.HostHits() {
		got[k.Prefix] = n
	}
	if !maps.Equal(got, want) {
		t.Errorf("queued hits count %d hosts, added ones %d", len(got), len(want))
	}
}

func tableCounts(tab *addrTable) map[netip.Prefix]int {
	got := map[netip.Prefix]int{}
	tab.each(func(p netip.Prefix, n int) { got[p] += n })
	return got
}

// BenchmarkAddrTally compares the tally's address table with the map it
// replaced, on 20k hosts and 270k hits (the libp2p corpus's shape: a few
// hosts take most hits): "fill" counts every hit into a new one, "hits"
// counts them into one that already holds every host, a long replay's
// steady state.
func BenchmarkAddrTally(b *testing.B) {
	keys := tallyKeys(20_000)
	hits := make([]netip.Prefix, 270_000)
	for i := range hits {
		// Every host at least once, then skewed towards the first ones.
		if i < len(keys) {
			hits[i] = keys[(i*7919)%len(keys)]
		} else {
			hits[i] = keys[(i*i)%(1+i%len(keys))]
		}
	}
	type mapKey struct {
		addr [16]byte
		bits uint8
		v4   bool
	}
	mapAdd := func(m map[mapKey]int, p netip.Prefix) {
		a := p.Addr()
		m[mapKey{addr: a.As16(), bits: uint8(p.Bits()), v4: a.Is4()}]++
	}
	perHit := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(hits)), "ns/hit")
	}
	b.Run("fill/map", func(b *testing.B) {
		for b.Loop() {
			m := make(map[mapKey]int)
			for _, p := range hits {
				mapAdd(m, p)
			}
		}
		perHit(b)
	})
	b.Run("fill/table", func(b *testing.B) {
		for b.Loop() {
			var t addrTable
			for _, p := range hits {
				t.add(p)
			}
		}
		perHit(b)
	})
	b.Run("hits/map", func(b *testing.B) {
		m := make(map[mapKey]int)
		for _, p := range keys {
			mapAdd(m, p)
		}
		for b.Loop() {
			for _, p := range hits {
				mapAdd(m, p)
			}
		}
		perHit(b)
	})
	b.Run("hits/queued", func(b *testing.B) {
		var t addrTable
		for _, p := range keys {
			t.add(p)
		}
		for b.Loop() {
			for n, p := range hits {
				t.addLater(p)
				if n%512 == 511 { // a batch's hits, as the engine flushes them
					t.flush()
				}
			}
			t.flush()
		}
		perHit(b)
	})
	b.Run("hits/table", func(b *testing.B) {
		var t addrTable
		for _, p := range keys {
			t.add(p)
		}
		for b.Loop() {
			for _, p := range hits {
				t.add(p)
			}
		}
		perHit(b)
	})
}
