package pipeline

import (
	"maps"
	"net/netip"
	"testing"

	"github.com/peerjail/peerjail/internal/jail"
)

// The shared tally counts exactly what a map per jail counted: keys that
// differ only in form (IPv4 and IPv4-mapped IPv6, prefix length, zone,
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
		{ID: string(buf)},
		{Prefix: netip.PrefixFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 32)},
	}
	tally := newHostTally()
	a, b := &Lane{tally: tally}, &Lane{tally: tally}
	want, wantB := map[jail.Key]int{}, map[jail.Key]int{}
	for n, k := range keys {
		a.tallyHit(k)
		want[jail.Key{Prefix: k.Prefix, ID: string([]byte(k.ID))}]++
		if n%2 == 0 {
			b.tallyHit(k)
			wantB[jail.Key{Prefix: k.Prefix, ID: string([]byte(k.ID))}]++
		}
	}
	copy(buf, "peer-b")
	if got := a.HostHits(); !maps.Equal(got, want) || a.HostCount() != len(want) || len(want) != 10 {
		t.Errorf("hits %v (%d hosts), want %v", got, a.HostCount(), want)
	}
	if got := b.HostHits(); !maps.Equal(got, wantB) || b.HostCount() != len(wantB) || len(wantB) != 5 {
		t.Errorf("second lane: %v (%d hosts), want %v", got, b.HostCount(), wantB)
	}
}
