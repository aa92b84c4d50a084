package correlate

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func peerIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("12D3KooW%044d", i)
	}
	return ids
}

// BenchmarkLearn is the cost a hit carrying an identity and an address adds:
// repeat is a known peer at a known address (the common case), newID a
// flood of distinct identities at the cap (each one evicts another).
func BenchmarkLearn(b *testing.B) {
	a := netip.MustParseAddr("198.51.100.7")
	b.Run("repeat", func(b *testing.B) {
		ids := peerIDs(1000)
		tb := New(Config{})
		for i, id := range ids {
			tb.Learn(id, a, at(time.Duration(i)))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tb.Learn(ids[i%len(ids)], a, at(time.Duration(i)))
			i++
		}
	})
	b.Run("newID-at-cap", func(b *testing.B) {
		ids := peerIDs(200_000)
		tb := New(Config{Max: 100_000})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tb.Learn(ids[i%len(ids)], a, at(time.Duration(i)))
			i++
		}
	})
}

// BenchmarkAddrs is the lookup a ban of an identity makes.
func BenchmarkAddrs(b *testing.B) {
	tb := New(Config{})
	for k := range 4 {
		tb.Learn("p", netip.AddrFrom4([4]byte{198, 51, 100, byte(k)}), at(time.Duration(k)))
	}
	var dst []netip.Addr
	b.ReportAllocs()
	for b.Loop() {
		dst = tb.Addrs(dst[:0], "p", at(time.Second))
	}
}

// BenchmarkMemory reports the heap a table holds per identity, with one and
// with four addresses each, at the default cap.
func BenchmarkMemory(b *testing.B) {
	for _, per := range []int{1, 4} {
		b.Run(fmt.Sprintf("addrs=%d", per), func(b *testing.B) {
			ids := peerIDs(DefaultMax)
			var perID, total float64
			for b.Loop() {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				tb := New(Config{})
				for i, id := range ids {
					for k := range per {
						tb.Learn(id, netip.AddrFrom4([4]byte{198, 51, byte(k), byte(i)}), at(time.Duration(i)))
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				total = float64(m1.HeapAlloc - m0.HeapAlloc)
				perID = total / DefaultMax
				runtime.KeepAlive(tb)
			}
			b.ReportMetric(perID, "B/identity")
			b.ReportMetric(total/(1<<20), "MiB-at-cap")
		})
	}
}
