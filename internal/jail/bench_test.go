package jail

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

var benchLine = []byte("Mar  1 12:00:00 node geth[812]: WARN Failed RLPx handshake peer=203.0.113.7:30303 err=\"too many peers\"")

// BenchmarkAddHot counts hits from 1,000 hosts whose windows keep sliding
// without ever filling: the steady state of a busy, tolerated network.
func BenchmarkAddHot(b *testing.B) {
	j := mustNew(b, Policy{Name: "bench", FindTime: 3 * time.Second, MaxRetry: 5, BanTime: time.Hour})
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

// BenchmarkAddHitHot is BenchmarkAddHot through AddHit, as the pipeline
// counts: the hit by pointer, the key returned.
func BenchmarkAddHitHot(b *testing.B) {
	j := mustNew(b, Policy{Name: "bench", FindTime: 3 * time.Second, MaxRetry: 5, BanTime: time.Hour})
	hits := make([]filter.Hit, 1000)
	for i := range hits {
		hits[i] = filter.Hit{Host: filter.Host{Addr: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})}, Weight: 1}
	}
	now := t0
	var d Decision
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Millisecond)
		if _, v := j.AddHit(&d, &hits[i%len(hits)], now, benchLine); v != Counted {
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
	j := mustNew(b, Policy{Name: "bench", FindTime: time.Minute, MaxRetry: 5, BanTime: time.Hour, MaxHosts: maxHosts})
	h := filter.Hit{Weight: 1}
	add := func(i int) {
		h.Host.Addr = netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
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
	j := mustNew(b, Policy{Name: "bench", FindTime: time.Minute, MaxRetry: 5, BanTime: time.Hour, IgnoreIP: ps})
	h := hit("203.0.150.9", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, v := j.Add(h, t0, benchLine); v != IgnoredHost {
			b.Fatalf("verdict %v", v)
		}
	}
}

// spoofHit is the i-th host of a spoofed flood: even ones IPv4, odd ones IPv6
// in distinct /64s, all distinct.
func spoofHit(i int) filter.Hit {
	if i%2 == 0 {
		return filter.Hit{Host: filter.Host{Addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}, Weight: 1}
	}
	var a [16]byte
	a[0], a[1], a[4], a[5], a[6], a[7], a[15] = 0x20, 0x01, byte(i>>24), byte(i>>16), byte(i>>8), byte(i), 1
	return filter.Hit{Host: filter.Host{Addr: netip.AddrFrom16(a)}, Weight: 1}
}

// floodJail tracks n spoofed hosts with one to three hits each under
// maxretry 5, as the default maxhosts lets a flood do.
func floodJail(tb testing.TB, n int) *Counter {
	j := mustNew(tb, Policy{Name: "bench", FindTime: 10 * time.Minute, MaxRetry: 5, BanTime: time.Hour, MaxHosts: n})
	for i := range n {
		h := spoofHit(i)
		for k := range 1 + i%3 {
			j.Add(h, t0.Add(time.Duration(i)*time.Microsecond+time.Duration(k)*time.Millisecond), benchLine)
		}
	}
	return j
}

// BenchmarkMemoryPerHost reports what a tracked host costs: heap in use after
// GC and resident memory, per host, for a flood of 1M spoofed hosts.
func BenchmarkMemoryPerHost(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		heap0, rss0 := memNow()
		j := floodJail(b, n)
		heap1, rss1 := memNow()
		if st := j.Stats(t0); st.Tracked != n {
			b.Fatalf("tracked %d", st.Tracked)
		}
		b.ReportMetric(float64(heap1-heap0)/n, "heap-B/host")
		b.ReportMetric(float64(rss1-rss0)/n, "rss-B/host")
		b.ReportMetric(float64(rss1)/(1<<20), "rss-MiB")
		runtime.KeepAlive(j)
	}
}

// memNow is HeapInuse after a full GC, and VmRSS.
func memNow() (heap, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), vmRSS()
}

func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkStats is a metrics scrape of a jail tracking 1M hosts: while all
// are failing, and after all have left findtime but before Prune ran (the
// scrape then counts what expired, a tick at a time).
func BenchmarkStats(b *testing.B) {
	j := floodJail(b, 1_000_000)
	for _, bc := range []struct {
		name    string
		now     time.Time
		failing int
	}{
		{"failing", t0.Add(2 * time.Second), 1_000_000},
		{"expired", t0.Add(10*time.Minute + 2*time.Second), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if st := j.Stats(bc.now); st.Tracked != 1_000_000 || st.Failing != bc.failing {
					b.Fatalf("Stats = %+v", st)
				}
			}
		})
	}
}
