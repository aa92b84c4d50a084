package pipeline

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/peerjail/peerjail/internal/jail"
)

// hostTally counts one jail's hits per host (Options.TrackHosts). A map
// keyed by jail.Key, a string inside a struct, hashes and compares several
// times slower than one keyed by plain bytes, and with many jails on one
// source that map write per jail and hit was the largest single cost of
// counting: addresses and identities get tables of their own.
type hostTally struct {
	addrs  addrTable
	ids    map[string]int32 // index in idHits
	idHits []int
}

func newHostTally() *hostTally {
	return &hostTally{ids: make(map[string]int32)}
}

// add counts one hit on k. k's ID may share a line's memory: the tally
// keeps its own copy.
func (t *hostTally) add(k jail.Key) {
	if k.ID != "" {
		// Assigning to ids would replace its key with k.ID: a hit on a
		// known identity only reads the map.
		if i, ok := t.ids[k.ID]; ok {
			t.idHits[i]++
		} else {
			t.ids[strings.Clone(k.ID)] = int32(len(t.idHits))
			t.idHits = append(t.idHits, 1)
		}
		return
	}
	t.addrs.addLater(k.Prefix)
}

func (t *hostTally) hits() map[jail.Key]int {
	t.addrs.flush()
	m := make(map[jail.Key]int, t.addrs.used+len(t.ids))
	t.addrs.each(func(p netip.Prefix, n int) { m[jail.Key{Prefix: p}] = n })
	for id, i := range t.ids {
		m[jail.Key{ID: id}] = t.idHits[i]
	}
	return m
}

// addrTable counts hits per address prefix in an open-addressing table
// (linear probing) of plain words. It replaces a map[tallyAddr]int, an
// 18-byte struct key that takes the runtime's generic path (hash the
// bytes, compare them with memequal). BenchmarkAddrTally (20k hosts,
// 270k hits, the libp2p corpus's shape) measured the map at 46-53 ns a hit
// and this table at 27-34; in the libp2p replay the tally fell from 5.7%
// to 3.8% of the CPU samples, most of what was left a cache miss per hit,
// and to 1.8% with the hits queued (addLater).
type addrTable struct {
	slots []addrSlot
	used  int
	// seed makes where a key lands unknowable to whoever writes the log,
	// so that no set of addresses can be made to collide.
	seed [2]uint64
	// pending are the hits addLater queued for flush to count.
	pending []pendingHit
}

// pendingHit is a queued hit: its key (see slotKey) and hash.
type pendingHit struct {
	hi, lo, hash uint64
	meta         uint32
}

// maxPending bounds the queue between flushes.
const maxPending = 1024

// addrSlot is one prefix: its address's 16-byte form in two words, and
// in meta its length and whether it is IPv4 (a netip.Prefix has no zone);
// meta 0 marks a free slot.
type addrSlot struct {
	hi, lo uint64
	n      int
	meta   uint32
}

const (
	slotUsed = 1 << 9
	slotV4   = 1 << 8
	// minSlots is the table's first size: a jail with few hosts stays small.
	minSlots = 64
)

// slotKey returns p's words and meta. An invalid prefix's length -1
// becomes 0xff, as the uint8 of the map it replaces made it.
func slotKey(p netip.Prefix) (hi, lo uint64, meta uint32) {
	a := p.Addr()
	b := a.As16()
	hi, lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	meta = slotUsed | uint32(uint8(p.Bits()))
	if a.Is4() {
		meta |= slotV4
	}
	return hi, lo, meta
}

// hash mixes the key with the seed the way wyhash does: one 128-bit
// multiply folds each word into the other.
func (t *addrTable) hash(hi, lo uint64, meta uint32) uint64 {
	h1, l1 := bits.Mul64(hi^t.seed[0], lo^t.seed[1])
	h2, l2 := bits.Mul64(h1^l1^uint64(meta), t.seed[0]^0x9e3779b97f4a7c15)
	return h2 ^ l2
}

// seedOnce draws the seed before the first key is hashed.
func (t *addrTable) seedOnce() {
	if t.seed == [2]uint64{} {
		t.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
	}
}

// add counts one hit on p.
func (t *addrTable) add(p netip.Prefix) {
	t.seedOnce()
	hi, lo, meta := slotKey(p)
	t.addKey(hi, lo, meta, t.hash(hi, lo, meta))
}

// addLater queues a hit on p for flush, which the engine calls after each
// batch (and the tally before it is read). A replay's hits land on
// thousands of hosts and most slots they touch are a cache miss: counted
// as they come, each miss waited for the one before; counted in a run of
// a batch's hits, whose slots are independent, the misses overlap
// (BenchmarkAddrTally's "queued" against "hits").
func (t *addrTable) addLater(p netip.Prefix) {
	t.seedOnce()
	hi, lo, meta := slotKey(p)
	t.pending = append(t.pending, pendingHit{hi: hi, lo: lo, meta: meta, hash: t.hash(hi, lo, meta)})
	if len(t.pending) >= maxPending {
		t.flush()
	}
}

// flush counts the queued hits.
func (t *addrTable) flush() {
	for i := range t.pending {
		h := &t.pending[i]
		t.addKey(h.hi, h.lo, h.meta, h.hash)
	}
	t.pending = t.pending[:0]
}

// addKey counts one hit on the key whose hash is h.
func (t *addrTable) addKey(hi, lo uint64, meta uint32, h uint64) {
	if 4*(t.used+1) > 3*len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		switch {
		case s.meta == meta && s.hi == hi && s.lo == lo:
			s.n++
			return
		case s.meta == 0:
			*s = addrSlot{hi: hi, lo: lo, n: 1, meta: meta}
			t.used++
			return
		}
	}
}

// grow doubles the table (keeping it at most three quarters full, where
// linear probing stays a few slots long) and re-places every key.
func (t *addrTable) grow() {
	old := t.slots
	t.slots = make([]addrSlot, max(minSlots, 2*len(old)))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.meta == 0 {
			continue
		}
		i := t.hash(s.hi, s.lo, s.meta) & mask
		for t.slots[i].meta != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// each calls f with every prefix counted and its hits.
func (t *addrTable) each(f func(netip.Prefix, int)) {
	for _, s := range t.slots {
		if s.meta == 0 {
			continue
		}
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], s.hi)
		binary.BigEndian.PutUint64(b[8:], s.lo)
		a := netip.AddrFrom16(b)
		if s.meta&slotV4 != 0 {
			a = a.Unmap()
		}
		n := int(uint8(s.meta))
		if n == 0xff {
			n = -1
		}
		f(netip.PrefixFrom(a, n), s.n)
	}
}

// HostHits returns the jail's hits per host: Hosts when the caller set it,
// else what Options.TrackHosts counted (nil without it). Read it after Run
// returns, or from inside Do.
func (jl *Lane) HostHits() map[jail.Key]int {
	if jl.Hosts != nil || jl.tally == nil {
		return jl.Hosts
	}
	return jl.tally.hits()
}

// HostCount is how many hosts len(HostHits()) holds, without building it.
func (jl *Lane) HostCount() int {
	if jl.Hosts != nil || jl.tally == nil {
		return len(jl.Hosts)
	}
	jl.tally.addrs.flush()
	return jl.tally.addrs.used + len(jl.tally.ids)
}
