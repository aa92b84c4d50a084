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
	"net/netip"
	"slices"
	"sync"
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
	// MaxAddrs caps the addresses kept per identity; at the cap the least
	// recently seen is dropped.
	MaxAddrs int
}

// Table maps identities to the addresses they were seen at. It is safe for
// concurrent use, although the pipeline uses it from its counting goroutine
// alone; the lock keeps a table shared by a daemon's generations honest.
type Table struct {
	mu  sync.Mutex
	cfg Config
	ttl int64
	ids map[string]int32
	// ents holds every identity in one slice linked by index (head: most
	// recently seen), so an entry costs no pointer of its own besides its
	// name and, past inlineAddrs, its extra addresses.
	ents       []entry
	head, tail int32
	free       int32
	evicted    int64
}

// inlineAddrs addresses live in the entry itself: most identities use one.
const inlineAddrs = 2

const nilIdx = -1

type entry struct {
	id         string
	prev, next int32
	n          uint8 // addresses in use
	inline     [inlineAddrs]seen
	more       []seen // addresses beyond inline, when n > inlineAddrs
}

// seen is one address and when it was last seen, in Unix nanoseconds. The
// address is kept in its 16-byte form (IPv4 mapped) so that it holds no
// pointer: zones are dropped, as firewall sets have none.
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
	return &Table{cfg: c, ttl: int64(c.TTL), ids: make(map[string]int32), head: nilIdx, tail: nilIdx, free: nilIdx}
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
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneTail(now)
	i, ok := t.ids[id]
	if !ok {
		i = t.insert(id)
	} else {
		t.touch(i)
	}
	return t.put(&t.ents[i], key, now)
}

// put records key at now in e; true when it was not there within TTL.
func (t *Table) put(e *entry, key [16]byte, now int64) bool {
	oldest := 0
	for k := range int(e.n) {
		s := e.slot(k)
		if s.addr == key {
			fresh := now-s.at < t.ttl
			s.at = max(s.at, now)
			return !fresh
		}
		if s.at < e.slot(oldest).at {
			oldest = k
		}
	}
	if int(e.n) >= t.cfg.MaxAddrs {
		*e.slot(oldest) = seen{addr: key, at: now}
		return true
	}
	if e.n >= inlineAddrs {
		e.more = append(e.more, seen{})
	}
	e.n++
	*e.slot(int(e.n) - 1) = seen{addr: key, at: now}
	return true
}

func (e *entry) slot(k int) *seen {
	if k < inlineAddrs {
		return &e.inline[k]
	}
	return &e.more[k-inlineAddrs]
}

// Addrs appends to dst the addresses id was seen at within TTL before at
// (and any seen after it), most recently seen first. It is called for a ban,
// not for every hit.
func (t *Table) Addrs(dst []netip.Addr, id string, at time.Time) []netip.Addr {
	now := at.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.ids[id]
	if !ok {
		return dst
	}
	e := &t.ents[i]
	live := make([]seen, 0, e.n)
	for k := range int(e.n) {
		if s := e.slot(k); now-s.at < t.ttl {
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
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ids)
}

// Evicted is how many identities were dropped at the cap.
func (t *Table) Evicted() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.evicted
}

// pruneTail drops the least recently seen identities while their newest
// address is older than TTL: the list is in order of last use, so expired
// entries gather at the tail and cost nothing until then.
func (t *Table) pruneTail(now int64) {
	for t.tail != nilIdx {
		e := &t.ents[t.tail]
		if now-e.newest() < t.ttl {
			return
		}
		t.remove(t.tail)
	}
}

func (e *entry) newest() int64 {
	var n int64
	for k := range int(e.n) {
		n = max(n, e.slot(k).at)
	}
	return n
}

// insert adds id as the most recent entry, evicting the least recent at Max.
func (t *Table) insert(id string) int32 {
	if len(t.ids) >= t.cfg.Max && t.tail != nilIdx {
		t.remove(t.tail)
		t.evicted++
	}
	var i int32
	if t.free != nilIdx {
		i = t.free
		t.free = t.ents[i].next
		more := t.ents[i].more[:0]
		t.ents[i] = entry{more: more}
	} else {
		t.ents = append(t.ents, entry{})
		i = int32(len(t.ents) - 1)
	}
	e := &t.ents[i]
	e.id = id
	t.ids[id] = i
	t.pushFront(i)
	return i
}

func (t *Table) remove(i int32) {
	e := &t.ents[i]
	delete(t.ids, e.id)
	t.unlink(i)
	e.id, e.n = "", 0
	e.next = t.free
	t.free = i
}

func (t *Table) touch(i int32) {
	if t.head == i {
		return
	}
	t.unlink(i)
	t.pushFront(i)
}

func (t *Table) pushFront(i int32) {
	e := &t.ents[i]
	e.prev, e.next = nilIdx, t.head
	if t.head != nilIdx {
		t.ents[t.head].prev = i
	}
	t.head = i
	if t.tail == nilIdx {
		t.tail = i
	}
}

func (t *Table) unlink(i int32) {
	e := &t.ents[i]
	if e.prev != nilIdx {
		t.ents[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nilIdx {
		t.ents[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nilIdx, nilIdx
}
