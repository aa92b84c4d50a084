package daemon

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// BenchmarkPendingSnapshot measures one save of the windows of a jail
// tracking N hosts with 4 hits each (maxretry 5): "copy" is what runs under
// the counting lock (jail.Pending and the conversion snapshotPending does),
// "write" the store's Update of those windows with fsync, off the lock.
func BenchmarkPendingSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		j, err := jail.NewCounter(jail.Policy{Name: "ssh", FindTime: time.Hour, MaxRetry: 5, BanTime: time.Hour, MaxHosts: n})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		h := filter.Hit{Weight: 1}
		for r := range 4 {
			for i := range n {
				h.Host.Addr = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				j.Add(h, t0.Add(time.Duration(r*n+i)*time.Microsecond), nil)
			}
		}
		now := t0.Add(time.Minute)
		snapshot := func() []store.PendingHost {
			ps := j.Pending(now)
			hosts := make([]store.PendingHost, len(ps))
			for i, p := range ps {
				hosts[i] = store.PendingHost{Key: p.Key.String(), Hits: p.Hits}
			}
			return hosts
		}
		b.Run(fmt.Sprintf("pending/hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				j.Pending(now)
			}
		})
		b.Run(fmt.Sprintf("copy/hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(snapshot()) != n {
					b.Fatal("hosts lost")
				}
			}
		})
		b.Run(fmt.Sprintf("write/hosts=%d", n), func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "state.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			hosts := snapshot()
			for b.Loop() {
				if err := st.Update(store.Batch{Pending: map[string][]store.PendingHost{"ssh": hosts}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
