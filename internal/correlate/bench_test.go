package correlate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
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

// BenchmarkIndex compares the index with the map[uint64]int32 it replaced,
// on what Learn does with it at the default cap: 100k entries under random
// 64-bit hashes, lookups that find one (hit) or none (miss), and churn (the
// evicted entry's hash removed, a new one added in its entry). The index's
// lookups also read the entry's full hash, to confirm a tag's match as
// Table.find reads the entry's name.
func BenchmarkIndex(b *testing.B) {
	const n = DefaultMax
	rng := rand.New(rand.NewPCG(5, 6))
	hashes := make([]uint64, n) // by entry
	for i := range hashes {
		hashes[i] = rng.Uint64()
	}
	queries := make([]int32, 1<<20) // entries to look up, in random order
	for k := range queries {
		queries[k] = int32(rng.IntN(n))
	}
	absent := make([]uint64, 1<<20)
	for k := range absent {
		absent[k] = rng.Uint64()
	}
	b.Run("map/hit", func(b *testing.B) {
		m := make(map[uint64]int32)
		for i, h := range hashes {
			m[h] = int32(i)
		}
		k := 0
		for b.Loop() {
			if _, ok := m[hashes[queries[k&(len(queries)-1)]]]; !ok {
				b.Fatal("not found")
			}
			k++
		}
	})
	b.Run("index/hit", func(b *testing.B) {
		x := indexOf(hashes)
		k := 0
		for b.Loop() {
			if h := hashes[queries[k&(len(queries)-1)]]; lookup(&x, hashes, h) == nilIdx {
				b.Fatal("not found")
			}
			k++
		}
	})
	b.Run("map/miss", func(b *testing.B) {
		m := make(map[uint64]int32)
		for i, h := range hashes {
			m[h] = int32(i)
		}
		k := 0
		for b.Loop() {
			if _, ok := m[absent[k&(len(absent)-1)]]; ok {
				b.Fatal("found")
			}
			k++
		}
	})
	b.Run("index/miss", func(b *testing.B) {
		x := indexOf(hashes)
		k := 0
		for b.Loop() {
			if lookup(&x, hashes, absent[k&(len(absent)-1)]) != nilIdx {
				b.Fatal("found")
			}
			k++
		}
	})
	b.Run("map/churn", func(b *testing.B) {
		hs := slices.Clone(hashes)
		m := make(map[uint64]int32)
		for i, h := range hs {
			m[h] = int32(i)
		}
		k := 0
		for b.Loop() {
			i := queries[k&(len(queries)-1)]
			delete(m, hs[i])
			hs[i] = absent[k&(len(absent)-1)]
			m[hs[i]] = i
			k++
		}
	})
	b.Run("index/churn", func(b *testing.B) {
		hs := slices.Clone(hashes)
		x := indexOf(hs)
		k := 0
		for b.Loop() {
			i := queries[k&(len(queries)-1)]
			x.remove(hs[i], i)
			hs[i] = absent[k&(len(absent)-1)]
			if x.full() {
				x.rebuild(x.rebuildLen(), func(yield func(uint64, int32)) {
					for j, h := range hs {
						if int32(j) != i {
							yield(h, int32(j))
						}
					}
				})
			}
			x.insert(hs[i], i)
			k++
		}
	})
}

func indexOf(hashes []uint64) index {
	x := newIndex(len(hashes))
	for i, h := range hashes {
		if x.full() {
			x.rebuild(x.rebuildLen(), func(yield func(uint64, int32)) {
				for j, h := range hashes[:i] {
					yield(h, int32(j))
				}
			})
		}
		x.insert(h, int32(i))
	}
	return x
}

// lookup is Table.find without names.
func lookup(x *index, hashes []uint64, h uint64) int32 {
	pos := x.home(h)
	for {
		var i int32
		pos, i = x.next(h, pos)
		if i == nilIdx || hashes[i] == h {
			return i
		}
		pos++
	}
}
