package jail

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

var benchLine = []byte("Mar  1 12:00:00 node geth[812]: WARN Failed RLPx handshake peer=203.0.113.7:30303 err=\"too many peers\"")

// BenchmarkAddHot counts hits from 1,000 hosts whose windows keep sliding
// without ever filling: the steady state of a busy, tolerated network.
func BenchmarkAddHot(b *testing.B) {
	j := mustNew(b, Config{Name: "bench", FindTime: 3 * time.Second, MaxRetry: 5, BanTime: time.Hour})
	hits := make([]filter.Hit, 1000)
	for i := range hits {
		hits[i] = filter.Hit{Host: filter.Host{Addr: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})}, Weight: 1}
	}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Millisecond) // each host once a second: 3 hits in the window
		if _, v := j.Add(hits[i%len(hits)], now, benchLine); v != Counted {
			b.Fatalf("verdict %v", v)
		}
	}
}

// BenchmarkAddFlood feeds a new host on every hit, as spoofed sources would,
// with the table full: every hit evicts the least recently seen host.
func BenchmarkAddFlood(b *testing.B) {
	for _, maxHosts := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("maxhosts=%d", maxHosts), func(b *testing.B) { benchFlood(b, maxHosts) })
	}
}

func benchFlood(b *testing.B, maxHosts int) {
	j := mustNew(b, Config{Name: "bench", FindTime: time.Minute, MaxRetry: 5, BanTime: time.Hour, MaxHosts: maxHosts})
	h := filter.Hit{Weight: 1}
	add := func(i int) {
		h.Host.Addr = netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		j.Add(h, t0, benchLine)
	}
	for i := range maxHosts {
		add(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		add(maxHosts + i)
	}
	b.StopTimer()
	if st := j.Stats(t0); st.Tracked != maxHosts || st.Evicted != int64(b.N) {
		b.Fatalf("Stats = %+v", st)
	}
}

// BenchmarkIgnored checks a hit against 600 ignoreip prefixes of three lengths.
func BenchmarkIgnored(b *testing.B) {
	var ps []netip.Prefix
	for i := range 200 {
		ps = append(ps,
			netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i), 0, 0}), 16),
			netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, byte(i), 0}), 24),
			netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 32))
	}
	j := mustNew(b, Config{Name: "bench", FindTime: time.Minute, MaxRetry: 5, BanTime: time.Hour, IgnoreIP: ps})
	h := hit("203.0.150.9", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, v := j.Add(h, t0, benchLine); v != IgnoredHost {
			b.Fatalf("verdict %v", v)
		}
	}
}
