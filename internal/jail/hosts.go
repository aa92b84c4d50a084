package jail

import (
	"math"
	"math/bits"
	"net/netip"
	"strings"
)

// hostTable holds the pending windows. A spoofed flood fills it with millions
// of hosts of one or two hits each, so a host is one pointer-free slot in a
// slice (the garbage collector never scans it) of one cache line, found
// through an index of compact keys (addrIndex) or a map of identities, and
// list links are slot indexes, not pointers.
//
// The slots form one list ordered by the tick of their newest hit (ties in
// arrival order): the host whose last hit is oldest sits at the tail, to be
// evicted or pruned first, and the hosts that have left findtime are a run at
// the tail, so counting them costs only what expired. Hits mostly arrive in
// time order and go to the head in O(1); a late one finds its place through
// the tick index, one step per tick, not per host.
//
// The tick index holds only ticks of two hosts or more. Ticks are short
// (findtime/65536), so under sparse hits most hold one host, and a hit that
// moves a host from one such tick to a new one at the head then costs no map
// operation at all: in the libp2p replay (20,000 hosts, maxretry 90) the
// index's lookups, inserts and deletes were over a quarter of Add's time.
type hostTable struct {
	chunks [][]hostSlot // slots in fixed chunks: growing never copies them
	refs   [][]uint64   // by slot, in chunks like the slots: ring position of the newest evidence line, plus one; 0 for none
	used   uint32       // slots handed out so far
	shift  uint8        // log2 of the chunk length
	addrs  addrIndex    // address keys' slots
	ids    map[string]uint32
	names  []string           // identities by slot (to drop their ids entry), grown only by identities
	more   map[uint32][]int64 // hit times of hosts with more than inlineHits
	ticks  map[int64]tickSpan // the run of slots in each tick of newest hits held by two or more
	tick   int64              // tick length in nanoseconds
	head   uint32             // newest last hit
	tail   uint32             // oldest last hit: evicted first
	free   uint32             // free slots, linked through next
	n      int
}

// inlineHits hit times live in the slot itself: a policy of maxretry 5 keeps
// at most 4 pending hits, so most jails never allocate per host.
const inlineHits = 4

// Slots are allocated 2^maxChunkShift at a time (256 KiB), or fewer for a
// jail that may track fewer hosts.
const maxChunkShift = 12

func (h *hostTable) at(i uint32) *hostSlot {
	return &h.chunks[i>>h.shift][i&(1<<h.shift-1)]
}

// lineRef is where slot i's newest evidence line is: only hosts close to a
// ban have one, so it lives apart from the slot, which then fills one cache
// line (64 bytes, not 72 across two): a hit reads its host's slot and its
// neighbours' in the list.
func (h *hostTable) lineRef(i uint32) *uint64 {
	return &h.refs[i>>h.shift][i&(1<<h.shift-1)]
}

// none is the nil slot index.
const none = math.MaxUint32

// hostSlot is one host's window. times[:n] are its hit times in Unix
// nanoseconds, ascending, one entry per unit of weight, while n <= inlineHits;
// beyond that they live in hostTable.more. The window never reaches MaxRetry
// entries: the hit that would make it do so bans the host and ends it.
type hostSlot struct {
	times      [inlineHits]int64
	prev, next uint32 // towards the tail (older) and the head (newer)
	n          uint32
	key        hostKey
}

// hostKey is a Key's address prefix in 17 bytes: the address in its 16-byte
// form and the prefix length among 128 bits (an IPv4 /32 is ::ffff:a.b.c.d/128;
// IPv6 keys never lie in the mapped range, which canonical keys turn into IPv4).
// Identities are marked by idBits and looked up by name.
type hostKey struct {
	addr [16]byte
	bits uint8
}

const idBits = 0xff

// tickSpan is the run of slots whose newest hit falls in one tick, with
// bounds on those hits: lo is at most and hi at least every slot's newest
// (removals leave them loose), so that counting stale or future hosts looks
// into a tick's slots only when the bounds straddle the time asked about.
type tickSpan struct {
	first, last, count uint32
	lo, hi             int64
}

func newHostTable(findTime int64, maxHosts int) hostTable {
	return hostTable{
		shift: uint8(min(maxChunkShift, bits.Len(uint(maxHosts-1)))),
		addrs: newAddrIndex(), ids: make(map[string]uint32),
		more: make(map[uint32][]int64), ticks: make(map[int64]tickSpan),
		// Fine enough that a late hit walks few hosts within its tick, coarse
		// enough that finding its tick takes few steps.
		tick: max(findTime/65536, 1),
		head: none, tail: none, free: none,
	}
}

func compactKey(k Key) hostKey {
	a := k.Prefix.Addr()
	bits := k.Prefix.Bits()
	if a.Is4() {
		bits += 96
	}
	return hostKey{addr: a.As16(), bits: uint8(bits)}
}

func (h *hostTable) keyOf(i uint32) Key {
	s := h.at(i)
	if s.key.bits == idBits {
		return Key{ID: h.names[i]}
	}
	a, bits := netip.AddrFrom16(s.key.addr), int(s.key.bits)
	if a.Is4In6() {
		a, bits = a.Unmap(), bits-96
	}
	return Key{Prefix: netip.PrefixFrom(a, bits)}
}

func (h *hostTable) len() int { return h.n }

// get returns k's slot, or none.
func (h *hostTable) get(k Key) uint32 {
	if k.ID != "" {
		if i, ok := h.ids[k.ID]; ok {
			return i
		}
		return none
	}
	ck := compactKey(k)
	if p := h.findAddr(&ck); p >= 0 {
		return uint32(h.addrs.entries[p]) - 1
	}
	return none
}

// add makes an empty slot for k, which must be absent. The caller stores its
// first hit and links it.
func (h *hostTable) add(k Key) uint32 {
	i := h.free
	if i != none {
		h.free = h.at(i).next
		*h.at(i) = hostSlot{}
		*h.lineRef(i) = 0
	} else {
		if h.used&(1<<h.shift-1) == 0 {
			h.chunks = append(h.chunks, make([]hostSlot, 1<<h.shift))
			h.refs = append(h.refs, make([]uint64, 1<<h.shift))
		}
		i = h.used
		h.used++
	}
	s := h.at(i)
	s.prev, s.next = none, none
	if k.ID != "" {
		// A hit's identity may share the line's memory (filter.Hit.ID).
		id := strings.Clone(k.ID)
		s.key.bits = idBits
		h.ids[id] = i
		if int(i) >= len(h.names) {
			// A slice, not a map: a jail keyed by identities writes one
			// per new host, and a map write costs several times more.
			h.names = append(h.names, make([]string, int(i)+1-len(h.names))...)
		}
		h.names[i] = id
	} else {
		s.key = compactKey(k)
		h.addrs.insert(&s.key, i)
	}
	h.n++
	return i
}

// remove forgets slot i.
func (h *hostTable) remove(i uint32) {
	s := h.at(i)
	if s.n > 0 { // linked
		h.unlink(i)
	}
	if s.key.bits == idBits {
		delete(h.ids, h.names[i])
		h.names[i] = ""
	} else {
		h.addrs.deleteAt(h.findAddr(&s.key))
	}
	if s.n > inlineHits {
		delete(h.more, i)
	}
	s.n, s.next = 0, h.free
	h.free = i
	h.n--
}

// times returns i's hit times; they may be changed in place but not grown.
func (h *hostTable) times(i uint32) []int64 {
	s := h.at(i)
	if s.n <= inlineHits {
		return s.times[:s.n]
	}
	return h.more[i][:s.n]
}

// setTimes stores ts (which may alias i's own storage) as i's hit times;
// capacity beyond inlineHits grows by doubling up to limit.
func (h *hostTable) setTimes(i uint32, ts []int64, limit int) {
	s := h.at(i)
	if len(ts) <= inlineHits {
		copy(s.times[:], ts)
		if s.n > inlineHits {
			delete(h.more, i)
		}
		s.n = uint32(len(ts))
		return
	}
	// The map holds the times' whole capacity, so that storing fewer or
	// more of them (s.n) needs no map write; the unused inline times keep
	// the oldest and the newest, which newest and oldest read without a
	// lookup: listing a host in its tick reads its neighbours' newest.
	// ts may be m's own times from an offset: read its ends first.
	first, last := ts[0], ts[len(ts)-1]
	m := h.more[i]
	if cap(m) < len(ts) {
		grown := make([]int64, len(ts), min(max(len(ts), 2*cap(m)), max(limit, len(ts))))
		copy(grown, ts)
		h.more[i] = grown[:cap(grown)]
	} else {
		copy(m[:len(ts)], ts)
	}
	s.times[0], s.times[1] = first, last
	s.n = uint32(len(ts))
}

// newest is i's latest hit; a linked slot always has one.
func (h *hostTable) newest(i uint32) int64 {
	s := h.at(i)
	if s.n <= inlineHits {
		return s.times[s.n-1]
	}
	return s.times[1]
}

func (h *hostTable) oldest(i uint32) int64 {
	s := h.at(i)
	return s.times[0]
}

func (h *hostTable) tickOf(t int64) int64 {
	q := t / h.tick
	if t%h.tick < 0 {
		q--
	}
	return q
}

// span returns the run of linked slot x's tick b: its index entry, or x alone.
func (h *hostTable) span(x uint32, b int64) tickSpan {
	if span, ok := h.ticks[b]; ok {
		return span
	}
	t := h.newest(x)
	return tickSpan{first: x, last: x, count: 1, lo: t, hi: t}
}

// link puts slot i, which holds hits, in its place by its newest hit.
func (h *hostTable) link(i uint32) {
	t := h.newest(i)
	b := h.tickOf(t)
	// The head holds the newest tick: a hit in a later one, the common case
	// of hits in time order, starts a tick of its own there.
	if h.head == none || b > h.tickOf(h.newest(h.head)) {
		h.insertAfter(i, h.head)
		return
	}
	if span, ok := h.ticks[b]; ok {
		h.insertAfter(i, span.last)
		span.last, span.count = i, span.count+1
		span.lo, span.hi = min(span.lo, t), max(span.hi, t)
		h.ticks[b] = span
		return
	}
	// Tick b holds one host or none: walk back a tick at a time to the
	// newest host at or before it.
	after := h.head
	for after != none {
		a := h.tickOf(h.newest(after))
		if a <= b {
			break
		}
		after = h.at(h.span(after, a).first).prev
	}
	h.insertAfter(i, after)
	if after != none {
		if u := h.newest(after); h.tickOf(u) == b {
			h.ticks[b] = tickSpan{first: after, last: i, count: 2, lo: min(u, t), hi: max(u, t)}
		}
	}
}

// relink moves i after its newest hit changed.
func (h *hostTable) relink(i uint32, oldNewest int64) {
	if h.tickOf(oldNewest) == h.tickOf(h.newest(i)) {
		return
	}
	h.unlinkAt(i, oldNewest)
	h.link(i)
}

func (h *hostTable) unlink(i uint32) { h.unlinkAt(i, h.newest(i)) }

// unlinkAt takes i out of the list, newest being the hit it was linked by.
func (h *hostTable) unlinkAt(i uint32, newest int64) {
	b := h.tickOf(newest)
	s := h.at(i)
	// A tick's hosts are adjacent: i shares its tick only with a
	// neighbour, whose slot the unlinking below touches anyway.
	if s.prev != none && h.tickOf(h.newest(s.prev)) == b || s.next != none && h.tickOf(h.newest(s.next)) == b {
		span := h.ticks[b]
		span.count--
		switch {
		case span.count == 1:
			delete(h.ticks, b)
		case span.first == i:
			span.first = s.next
		case span.last == i:
			span.last = s.prev
		}
		if span.count > 1 {
			h.ticks[b] = span
		}
	}
	if s.prev != none {
		h.at(s.prev).next = s.next
	} else {
		h.tail = s.next
	}
	if s.next != none {
		h.at(s.next).prev = s.prev
	} else {
		h.head = s.prev
	}
	s.prev, s.next = none, none
}

// insertAfter links i just newer than after (none: at the tail).
func (h *hostTable) insertAfter(i, after uint32) {
	s := h.at(i)
	s.prev = after
	if after == none {
		s.next = h.tail
		h.tail = i
	} else {
		s.next = h.at(after).next
		h.at(after).next = i
	}
	if s.next != none {
		h.at(s.next).prev = i
	} else {
		h.head = i
	}
}
