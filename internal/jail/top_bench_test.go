package jail

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

// BenchmarkFailingTop10 is what a scrape pays for peerjail_top_offender_hits
// and `peerjail status JAIL` for its top hosts: one walk of the hosts
// failing now, holding the counting side.
func BenchmarkFailingTop10(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("failing=%d", n), func(b *testing.B) {
			j := mustNew(b, Policy{Name: "bench", FindTime: time.Hour, MaxRetry: 1 << 20, BanTime: time.Hour, MaxHosts: n})
			h := filter.Hit{Weight: 1}
			for i := range n {
				h.Host.Addr = netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
				j.Add(h, t0.Add(time.Duration(i)*time.Millisecond), nil)
			}
			now := t0.Add(time.Duration(n) * time.Millisecond)
			b.ResetTimer()
			for range b.N {
				if top := j.Failing(now, 10); len(top) != 10 {
					b.Fatalf("%d offenders", len(top))
				}
			}
		})
	}
}
