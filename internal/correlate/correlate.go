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
	// Max caps the identities kept (correlation_max); at the cap the least
	// recently seen is dropped.
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
// inserting: the table holds no pointers (names inline, addresses in a
// slab), which keeps inserts cheap and the garbage collector out of it.
type Table struct {
	cfg     Config
	ttl     int64
	retouch int64 // see Learn
	seed    maphash.Seed
	// ids finds an entry by the hash of its name; the name itself is
	// compared in the entry (a collision replaces the older entry).
	ids map[uint64]int32
	// chunks hold the entries, linked by index (head: most recently
	// seen), chunkLen at a time: growing never copies them.
	chunks     [][]entry
	used       int32
	head, tail int32
	free       int32
	// pruneAt is when the tail may have expired: until then Learn does not
	// look at it (its entry is far from the hot ones in memory).
	pruneAt int64
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
	// chunkLen entries are allocated at a time (about 600 KiB).
	chunkShift = 12
	chunkLen   = 1 << chunkShift
)

type entry struct {
	hash       uint64
	touched    int64 // when it last moved to the front
	prev, next int32
	block      int32 // slab block for addresses past inline; nilIdx: none
	idLen      uint16
	n          uint8 // addresses in use
	id         [inlineID]byte
	inline     [inlineAddrs]seen
}

// seen is one address and when it was last seen, in Unix nanoseconds. The
// address is kept in its 16-byte form (IPv4 mapped); zones are dropped, as
// firewall sets have none.
type seen struct {
	addr [16]byte
	at   int64
}

// New returns an empty table; zero fields of c take the defaults.
func New(c Config) *Table {
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
	return &Table{
		cfg: c, ttl: int64(c.TTL), retouch: int64(c.TTL) / 64, seed: maphash.MakeSeed(),
		ids: make(map[uint64]int32), long: make(map[int32]string),
		head: nilIdx, tail: nilIdx, free: nilIdx,
	}
}

// Config returns the bounds in force, defaults applied.
func (t *Table) Config() Config { return t.cfg }

// Learn records that id was seen at a at time at. It reports whether a was
// new for id (not among its addresses seen within TTL), which is when a ban
// of id must be extended to a.
//
// An entry moves to the front of the eviction order only when at is more
// than TTL/64 past its last move: the order is least recently used to within
// that, and a run of hits costs no list surgery.
func (t *Table) Learn(id string, a netip.Addr, at time.Time) bool {
	if id == "" || len(id) > maxIDLen || !a.IsValid() {
		return false
	}
	now := at.UnixNano()
	key := a.WithZone("").As16()
	t.pruneTail(now)
	h := maphash.String(t.seed, id)
	i, ok := t.ids[h]
	switch {
	case !ok:
		i = t.insert(h, id, now)
	case !t.named(i, id):
		t.remove(i) // a hash collision: the older name gives way
		i = t.insert(h, id, now)
	default:
		if e := t.at(i); now-e.touched >= t.retouch {
			e.touched = now
			t.touch(i)
		}
	}
	return t.put(i, key, now)
}

// put records key at now in entry i; true when it was not there within TTL.
func (t *Table) put(i int32, key [16]byte, now int64) bool {
	e := t.at(i)
	oldest := 0
	for k := range int(e.n) {
		s := t.slot(e, k)
		if s.addr == key {
			fresh := now-s.at < t.ttl
			s.at = max(s.at, now)
			return !fresh
		}
		if s.at < t.slot(e, oldest).at {
			oldest = k
		}
	}
	if int(e.n) >= t.cfg.MaxAddrs {
		*t.slot(e, oldest) = seen{addr: key, at: now}
		return true
	}
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
	i, ok := t.ids[maphash.String(t.seed, id)]
	if !ok || !t.named(i, id) {
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
func (t *Table) Len() int { return len(t.ids) }

// Evicted is how many identities were dropped at the cap.
func (t *Table) Evicted() int64 { return t.evicted }

// pruneTail drops the least recently seen identities while their newest
// address is older than TTL: the list is in order of last use (to within
// retouch), so expired entries gather at the tail and cost nothing until
// then.
func (t *Table) pruneTail(now int64) {
	if now < t.pruneAt {
		return
	}
	for t.tail != nilIdx {
		if n := t.newest(t.at(t.tail)); now-n < t.ttl {
			// The tail can only be replaced by an entry touched no earlier
			// (to within retouch), so this is when it may expire first.
			t.pruneAt = n + t.ttl - t.retouch
			return
		}
		t.remove(t.tail)
	}
}

func (t *Table) newest(e *entry) int64 {
	var n int64
	for k := range int(e.n) {
		n = max(n, t.slot(e, k).at)
	}
	return n
}

// insert adds id as the most recent entry, evicting the least recent at Max.
func (t *Table) insert(h uint64, id string, now int64) int32 {
	if len(t.ids) >= t.cfg.Max && t.tail != nilIdx {
		t.remove(t.tail)
		t.evicted++
	}
	var i int32
	if t.free != nilIdx {
		i = t.free
		t.free = t.at(i).next
	} else {
		if t.used&(chunkLen-1) == 0 {
			t.chunks = append(t.chunks, make([]entry, chunkLen))
		}
		i = t.used
		t.used++
	}
	e := t.at(i)
	*e = entry{hash: h, touched: now, block: nilIdx, idLen: uint16(len(id))}
	if len(id) > inlineID {
		t.long[i] = strings.Clone(id) // the caller's may share a line's memory
	} else {
		copy(e.id[:], id)
	}
	t.ids[h] = i
	t.pushFront(i)
	return i
}

func (t *Table) remove(i int32) {
	e := t.at(i)
	delete(t.ids, e.hash)
	if e.idLen > inlineID {
		delete(t.long, i)
	}
	if e.block != nilIdx {
		t.freeBlocks = append(t.freeBlocks, e.block)
		e.block = nilIdx
	}
	t.unlink(i)
	e.n, e.idLen = 0, 0
	e.next = t.free
	t.free = i
}

func (t *Table) at(i int32) *entry { return &t.chunks[i>>chunkShift][i&(chunkLen-1)] }

func (t *Table) touch(i int32) {
	if t.head == i {
		return
	}
	t.unlink(i)
	t.pushFront(i)
}

func (t *Table) pushFront(i int32) {
	e := t.at(i)
	e.prev, e.next = nilIdx, t.head
	if t.head != nilIdx {
		t.at(t.head).prev = i
	}
	t.head = i
	if t.tail == nilIdx {
		t.tail = i
	}
}

func (t *Table) unlink(i int32) {
	e := t.at(i)
	if e.prev != nilIdx {
		t.at(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nilIdx {
		t.at(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nilIdx, nilIdx
}
