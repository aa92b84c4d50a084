// Package correlate remembers which addresses an identity (a peer ID, a node
// ID, a peer number) was seen at, in bounded memory, so that a ban of the
// identity can ban its addresses.
//
// A Table is pure logic: it reads no clock. Every call takes the time of the
// line it comes from, as the pipeline counted it, and entries expire by those
// times alone.
package correlate

import (
	"cmp"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultTTL      = time.Hour
	DefaultMax      = 100_000
	DefaultMaxAddrs = 16
)

// maxIDLen bounds an identity kept as a key; longer ones are not learned.
// Filters already cap identities at 256 bytes.
const maxIDLen = 256

// Config bounds a Table.
type Config struct {
	// TTL is how long after it was last seen an address still counts as the
	// identity's (correlation_ttl).
	TTL time.Duration
	// Max caps the identities kept (correlation_max); at the cap one that
	// was not seen again lately is dropped (CLOCK, see Table).
	Max int
	// MaxAddrs caps the addresses kept per identity (at most 255); at the
	// cap the least recently seen is dropped.
	MaxAddrs int
}

// Table maps identities to the addresses they were seen at. It is not safe
// for concurrent use: the pipeline uses it from its counting goroutine (and
// Engine.Do), on every hit that names both, so a lock would be paid on the
// hot path for nothing. A daemon that hands one table to each generation's
// engine never counts in two generations at once.
//
// Most lines of a busy log name a peer once, so learning is mostly
// inserting and looking up in a table larger than the caches: entries hold
// no pointers (names inline, addresses in a slab, a hash-keyed index),
// which keeps the garbage collector out, and eviction is CLOCK (second
// chance) rather than a linked LRU, so that a hit touches its own entry
// and no neighbours. An identity seen again since the hand last passed is
// kept; one seen once goes first, which is what a flood of made-up
// identities should cost.
type Table struct {
	cfg  Config
	ttl  int64
	seed maphash.Seed
	// ids finds an entry by the hash of its name; the name itself is
	// compared in the entry, so names whose hashes collide are both kept.
	ids index
	// hashMask is ANDed into every hash: all ones, narrowed by tests to
	// make names collide.
	hashMask uint64
	// chunks hold the entries, chunkLen at a time: growing never copies
	// them. used is how many were handed out; free are removed ones.
	chunks  []*chunk
	used    int32
	free    []int32
	hand    int32            // the CLOCK hand: the next entry to consider
	sweeper int32            // the next entry looked at for having expired
	long    map[int32]string // names longer than inlineID, by entry
	// slab holds the addresses of entries with more than inlineAddrs, in
	// blocks of MaxAddrs-inlineAddrs; freeBlocks are blocks to reuse.
	slab       []seen
	freeBlocks []int32
	evicted    int64
}

const (
	// inlineAddrs addresses live in the entry itself: most identities use one.
	inlineAddrs = 2
	// inlineID bytes of a name live in the entry: peer IDs (46–53 bytes),
	// flow node IDs (64 hex digits), peer numbers.
	inlineID = 64
	nilIdx   = -1
	// chunkLen entries are allocated at a time (576 KiB).
	chunkShift = 12
	chunkLen   = 1 << chunkShift
)

// chunk holds entries and, apart, when each was last seen at any address
// and the hash of its name. The sweep, which looks at two entries per
// insert and mostly finds them alive, reads 8 bytes of a sequential array
// rather than an entry's line: in the libp2p replay that cut the sweep from
// about 1.7% of all CPU to 0.7%. Rebuilding the index as it grows reads
// only the hashes (1.0% of the CPU to 0.55%). A free entry's newest is
// freeMark.
type chunk struct {
	entries [chunkLen]entry
	newest  [chunkLen]int64
	hashes  [chunkLen]uint64
}

// freeMark is no line's time: the Unix nanoseconds of times before 1678
// are undefined.
const freeMark = math.MinInt64

// entry is two cache lines (chunks are page-aligned): the first holds what
// the CLOCK hand and learning an address read (most identities have one or
// two addresses), the second the name, read only by a lookup whose tag
// matched.
type entry struct {
	_      [8]byte // spare: the entry is two whole lines
	block  int32   // slab block for addresses past inline; nilIdx: none
	idLen  uint16
	n      uint8 // addresses in use; 0: a free entry
	ref    bool  // seen again since the hand last passed
	inline [inlineAddrs]seen
	id     [inlineID]byte
}

// seen is one address and when it was last seen, in Unix nanoseconds. The
// address is kept in its 16-byte form (IPv4 mapped); zones are dropped, as
// firewall sets have none.
type seen struct {
	addr [16]byte
	at   int64
}

// WithDefaults is c as a table takes it: zero fields get the defaults,
// MaxAddrs is at most 255.
func (c Config) WithDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.Max <= 0 {
		c.Max = DefaultMax
	}
	if c.MaxAddrs <= 0 {
		c.MaxAddrs = DefaultMaxAddrs
	}
	c.MaxAddrs = min(c.MaxAddrs, 255)
	return c
}

// New returns an empty table; zero fields of c take the defaults.
func New(c Config) *Table {
	c = c.WithDefaults()
	return &Table{
		cfg: c, ttl: int64(c.TTL), seed: maphash.MakeSeed(), hashMask: ^uint64(0),
		ids: newIndex(min(c.Max, math.MaxInt32)), long: make(map[int32]string),
	}
}

// Config returns the bounds in force, defaults applied.
func (t *Table) Config() Config { return t.cfg }

// Learn records that id was seen at a at time at. It reports whether a was
// new for id (not among its addresses seen within TTL), which is when a ban
// of id must be extended to a.
func (t *Table) Learn(id string, a netip.Addr, at time.Time) bool {
	if id == "" || len(id) > maxIDLen || !a.IsValid() {
		return false
	}
	now := at.UnixNano()
	key := a.WithZone("").As16()
	h := t.hash(id)
	i := t.find(h, id)
	if i == nilIdx {
		i = t.insert(h, id, now)
	} else {
		t.at(i).ref = true
	}
	return t.put(i, key, now)
}

func (t *Table) hash(id string) uint64 { return maphash.String(t.seed, id) & t.hashMask }

// find returns the entry named id, whose hash is h, or nilIdx. The index's
// tag leaves few names to compare: most often the one sought.
func (t *Table) find(h uint64, id string) int32 {
	pos := t.ids.home(h)
	for {
		var i int32
		pos, i = t.ids.next(h, pos)
		if i == nilIdx || t.named(i, id) {
			return i
		}
		pos++
	}
}

// put records key at now in entry i; true when it was not there within TTL.
func (t *Table) put(i int32, key [16]byte, now int64) bool {
	e, newest := t.at(i), t.newest(i)
	oldest := 0
	for k := range int(e.n) {
		s := t.slot(e, k)
		if s.addr == key {
			fresh := now-s.at < t.ttl
			s.at = max(s.at, now)
			*newest = max(*newest, now)
			return !fresh
		}
		if s.at < t.slot(e, oldest).at {
			oldest = k
		}
	}
	if int(e.n) >= t.cfg.MaxAddrs {
		// The oldest goes: it may have been the newest too.
		*t.slot(e, oldest) = seen{addr: key, at: now}
		*newest = now
		for k := range int(e.n) {
			*newest = max(*newest, t.slot(e, k).at)
		}
		return true
	}
	*newest = max(*newest, now)
	if e.n == inlineAddrs && e.block == nilIdx {
		e.block = t.newBlock()
	}
	e.n++
	*t.slot(e, int(e.n)-1) = seen{addr: key, at: now}
	return true
}

func (t *Table) slot(e *entry, k int) *seen {
	if k < inlineAddrs {
		return &e.inline[k]
	}
	return &t.slab[int(e.block)*(t.cfg.MaxAddrs-inlineAddrs)+k-inlineAddrs]
}

func (t *Table) newBlock() int32 {
	if n := len(t.freeBlocks); n > 0 {
		b := t.freeBlocks[n-1]
		t.freeBlocks = t.freeBlocks[:n-1]
		return b
	}
	stride := t.cfg.MaxAddrs - inlineAddrs
	t.slab = append(t.slab, make([]seen, stride)...)
	return int32(len(t.slab)/stride - 1)
}

// named reports whether entry i holds the name id.
func (t *Table) named(i int32, id string) bool {
	e := t.at(i)
	if int(e.idLen) != len(id) {
		return false
	}
	if len(id) > inlineID {
		return t.long[i] == id
	}
	return string(e.id[:e.idLen]) == id
}

// Addrs appends to dst the addresses id was seen at within TTL before at
// (and any seen after it), most recently seen first. It is called for a ban,
// not for every hit.
func (t *Table) Addrs(dst []netip.Addr, id string, at time.Time) []netip.Addr {
	now := at.UnixNano()
	i := t.find(t.hash(id), id)
	if i == nilIdx {
		return dst
	}
	e := t.at(i)
	live := make([]seen, 0, e.n)
	for k := range int(e.n) {
		if s := t.slot(e, k); now-s.at < t.ttl {
			live = append(live, *s)
		}
	}
	slices.SortStableFunc(live, func(a, b seen) int { return cmp.Compare(b.at, a.at) })
	for _, s := range live {
		dst = append(dst, netip.AddrFrom16(s.addr).Unmap())
	}
	return dst
}

// Len is the number of identities held (expired ones included until they
// are pruned).
func (t *Table) Len() int { return t.ids.n }

// Evicted is how many identities were dropped at the cap.
func (t *Table) Evicted() int64 { return t.evicted }

// expired reports whether every address of entry i, which is held, is
// older than TTL at now.
func (t *Table) expired(i int32, now int64) bool { return now-*t.newest(i) >= t.ttl }

// sweepSteps entries are looked at per insert for having expired: more
// than one, so that expired entries leave faster than new ones arrive.
const sweepSteps = 2

// insert adds id; at Max it evicts the first entry the hand finds expired
// or not seen again since it last passed.
func (t *Table) insert(h uint64, id string, now int64) int32 {
	t.sweep(now)
	var i int32
	switch {
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	case int(t.used) < t.cfg.Max:
		if t.used&(chunkLen-1) == 0 {
			t.chunks = append(t.chunks, new(chunk))
		}
		i = t.used
		t.used++
	default:
		i = t.victim(now)
		t.remove(i)
		t.free = t.free[:len(t.free)-1]
		t.evicted++
	}
	e := t.at(i)
	*e = entry{block: nilIdx, idLen: uint16(len(id))}
	*t.hashOf(i) = h
	*t.newest(i) = freeMark // until put
	if len(id) > inlineID {
		t.long[i] = strings.Clone(id) // the caller's may share a line's memory
	} else {
		copy(e.id[:], id)
	}
	if t.ids.full() {
		t.ids.rebuild(t.ids.rebuildLen(), t.each)
	}
	t.ids.insert(h, i)
	return i
}

// sweep moves the hand a few entries, dropping those that expired.
func (t *Table) sweep(now int64) {
	for range min(sweepSteps, int(t.used)) {
		if t.sweeper >= t.used {
			t.sweeper = 0
		}
		if newest := *t.newest(t.sweeper); newest != freeMark && now-newest >= t.ttl {
			t.remove(t.sweeper)
		}
		t.sweeper++
	}
}

// victim is the entry to evict: the first from the hand that expired or
// was not seen again since the hand passed it (whose mark it clears). It
// ends within two turns.
func (t *Table) victim(now int64) int32 {
	for {
		i := t.hand
		if t.hand++; t.hand >= t.used {
			t.hand = 0
		}
		e := t.at(i)
		if !e.ref || t.expired(i, now) {
			return i
		}
		e.ref = false
	}
}

// remove frees entry i.
func (t *Table) remove(i int32) {
	e := t.at(i)
	t.ids.remove(*t.hashOf(i), i)
	if e.idLen > inlineID {
		delete(t.long, i)
	}
	if e.block != nilIdx {
		t.freeBlocks = append(t.freeBlocks, e.block)
	}
	*e = entry{block: nilIdx}
	*t.newest(i) = freeMark
	t.free = append(t.free, i)
}

// each yields the hash of every entry held, in entry order.
func (t *Table) each(yield func(h uint64, i int32)) {
	for i := range t.used {
		if *t.newest(i) != freeMark {
			yield(*t.hashOf(i), i)
		}
	}
}

func (t *Table) at(i int32) *entry { return &t.chunks[i>>chunkShift].entries[i&(chunkLen-1)] }

func (t *Table) newest(i int32) *int64 { return &t.chunks[i>>chunkShift].newest[i&(chunkLen-1)] }

func (t *Table) hashOf(i int32) *uint64 { return &t.chunks[i>>chunkShift].hashes[i&(chunkLen-1)] }
