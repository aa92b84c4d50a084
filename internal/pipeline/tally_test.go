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
