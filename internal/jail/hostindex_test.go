package jail

import (
	"fmt"
	"net/netip"
	"testing"
)

// benchKeys are n distinct address keys, IPv4 and IPv6 mixed.
func benchKeys(n int) []Key {
	ks := make([]Key, n)
	for i := range ks {
		h := spoofHit(i)
		ks[i] = Key{Prefix: netip.PrefixFrom(h.Host.Addr, h.Host.Addr.BitLen())}
	}
	return ks
}

// BenchmarkAddrIndex compares what a hit pays to find its host's slot and
// read it: the index against the map[hostKey]uint32 it replaced, in random
// order over n hosts.
func BenchmarkAddrIndex(b *testing.B) {
	for _, n := range []int{1_000, 20_000, 1_000_000} {
		ks := benchKeys(n)
		var h hostTable
		var m map[hostKey]uint32
		setup := func() {
			if m != nil {
				return
			}
			h, m = newHostTable(60e9, n), make(map[hostKey]uint32)
			for _, k := range ks {
				i := h.add(k)
				m[compactKey(k)] = i
			}
		}
		order := make([]uint32, 1<<16)
		x := uint64(0x9e3779b97f4a7c15)
		for i := range order {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			order[i] = uint32(x>>33) % uint32(n)
		}
		var sink uint32
		b.Run(fmt.Sprintf("index/hosts=%d", n), func(b *testing.B) {
			setup()
			b.ResetTimer()
			for i := range b.N {
				sink += h.at(h.get(ks[order[i&(1<<16-1)]])).n
			}
		})
		b.Run(fmt.Sprintf("map/hosts=%d", n), func(b *testing.B) {
			setup()
			b.ResetTimer()
			for i := range b.N {
				sink += h.at(m[compactKey(ks[order[i&(1<<16-1)]])]).n
			}
		})
		_ = sink
	}
}

// checkIndex fails unless h.addrs holds exactly the address slots in want,
// each found, and every entry is reachable from its home without crossing an
// empty entry (what deleteAt's back-shifting must keep).
func checkIndex(t *testing.T, h *hostTable, want map[hostKey]uint32) {
	t.Helper()
	if h.addrs.n != len(want) {
		t.Fatalf("index holds %d keys, want %d", h.addrs.n, len(want))
	}
	for k, i := range want {
		if p := h.findAddr(&k); p < 0 || uint32(h.addrs.entries[p])-1 != i {
			t.Fatalf("key %v: found at %d, want slot %d", k, p, i)
		}
	}
	mask := uint32(len(h.addrs.entries) - 1)
	used := 0
	for p, e := range h.addrs.entries {
		if e == 0 {
			continue
		}
		used++
		for q := uint32(e>>32) & mask; q != uint32(p); q = (q + 1) & mask {
			if h.addrs.entries[q] == 0 {
				t.Fatalf("entry %d is cut off from its home %d by an empty entry at %d", p, uint32(e>>32)&mask, q)
			}
		}
	}
	if used != len(want) || 2*used > len(h.addrs.entries) {
		t.Fatalf("%d entries used of %d, want %d at most half full", used, len(h.addrs.entries), len(want))
	}
}

// TestAddrIndex adds and removes hosts in a pseudo-random order, the index
// growing from empty and runs of entries closing over deletions, checked
// against a map after every step. Keys include one address at two lengths.
func TestAddrIndex(t *testing.T) {
	keys := benchKeys(300)
	keys = append(keys, mustKey(t, "2001:db8::/64", 64), mustKey(t, "2001:db8::/128", 128), mustKey(t, "192.0.2.1", 0))
	h := newHostTable(60e9, 1<<10)
	want := map[hostKey]uint32{}
	x := uint64(1)
	for step := range 5000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		k := keys[x%uint64(len(keys))]
		ck := compactKey(k)
		i := h.get(k)
		if _, ok := want[ck]; ok != (i != none) {
			t.Fatalf("step %d: get(%v) = %d, tracked %v", step, k, i, ok)
		}
		if i == none {
			want[ck] = h.add(k)
		} else {
			h.remove(i)
			delete(want, ck)
		}
		checkIndex(t, &h, want)
	}
}

// TestAddrIndexTagCollision: an entry whose 32 bits of hash match but whose
// slot holds another key is passed over.
func TestAddrIndexTagCollision(t *testing.T) {
	h := newHostTable(60e9, 16)
	a, b := mustKey(t, "192.0.2.1", 0), mustKey(t, "192.0.2.2", 0)
	ia, ib := h.add(a), h.add(b)
	ka := compactKey(a)
	hv := uint64(h.addrs.hash(&ka))
	clear(h.addrs.entries)
	mask := uint64(len(h.addrs.entries) - 1)
	h.addrs.entries[hv&mask] = hv<<32 | uint64(ib+1) // b's slot under a's hash
	h.addrs.entries[(hv+1)&mask] = hv<<32 | uint64(ia+1)
	if got := h.get(a); got != ia {
		t.Errorf("get(a) = %d, want %d past b's entry of equal hash", got, ia)
	}
}
