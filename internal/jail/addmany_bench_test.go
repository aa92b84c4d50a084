package jail

import (
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

// BenchmarkAddMany is the per-hit cost of the libp2p replay's shape: 20,000
// hosts under maxretry 90 and findtime 180s, hits in time order, half of
// them from 200 busy hosts whose windows hold about 45 hits (beyond
// inlineHits) and half spread over all hosts, each of which then has about
// one hit in its window, so that nearly every such hit moves a host from an
// old tick to the head. No host reaches maxretry.
func BenchmarkAddMany(b *testing.B) {
	const hosts, busy = 20_000, 200
	j := mustNew(b, Policy{Name: "bench", FindTime: 180 * time.Second, MaxRetry: 90, BanTime: time.Hour, MaxHosts: 1 << 20})
	hits := make([]filter.Hit, hosts)
	for i := range hits {
		hits[i] = filter.Hit{Host: filter.Host{Addr: netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)})}, Weight: 1}
	}
	x := uint64(0x9e3779b97f4a7c15)
	next := func() int { // xorshift: the same sequence on every run
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x >> 33)
	}
	now := t0
	add := func(n int) {
		for i := range n {
			now = now.Add(10 * time.Millisecond) // 100 hits a second
			h := next() % hosts
			if i%2 == 0 {
				h %= busy
			}
			if _, v := j.Add(hits[h], now, benchLine); v != Counted {
				b.Fatalf("verdict %v", v)
			}
		}
	}
	add(2 * hosts) // every host seen, the busy windows full
	b.ReportAllocs()
	b.ResetTimer()
	add(b.N)
}
