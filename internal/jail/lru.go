package jail

import "net/netip"

// lru is a map of keys with a recency order and a size cap: an intrusive doubly
// linked list makes touch, insert and eviction O(1) without allocating list
// nodes apart from the entries themselves. It holds offender history, one
// entry per banned key; the far more numerous pending windows live in the
// compact hostTable.
//
// Addresses and identities live in separate maps: a map key holding a string
// makes every insert and delete about twice as slow.
type lru[V any] struct {
	addrs map[netip.Prefix]*entry[V]
	ids   map[string]*entry[V]
	head  *entry[V] // most recently touched
	tail  *entry[V] // least recently touched, evicted first
	max   int
}

type entry[V any] struct {
	key        Key
	val        V
	prev, next *entry[V]
}

func newLRU[V any](max int) lru[V] {
	return lru[V]{addrs: make(map[netip.Prefix]*entry[V]), ids: make(map[string]*entry[V]), max: max}
}

func (l *lru[V]) len() int { return len(l.addrs) + len(l.ids) }

func (l *lru[V]) get(k Key) *entry[V] {
	if k.ID != "" {
		return l.ids[k.ID]
	}
	return l.addrs[k.Prefix]
}

// touch makes e the most recent entry.
func (l *lru[V]) touch(e *entry[V]) {
	if l.head == e {
		return
	}
	l.unlink(e)
	l.pushFront(e)
}

// insert adds k, which must be absent, as the most recent entry. At the cap it
// evicts the least recent entry and hands it back re-keyed, its old value
// intact, so the caller can reuse the value's buffers: a flood of one-hit hosts
// then allocates almost nothing.
func (l *lru[V]) insert(k Key) (e *entry[V], evicted bool) {
	if l.max > 0 && l.len() >= l.max && l.tail != nil {
		e = l.tail
		l.remove(e)
		evicted = true
	} else {
		e = new(entry[V])
	}
	e.key = k
	if k.ID != "" {
		l.ids[k.ID] = e
	} else {
		l.addrs[k.Prefix] = e
	}
	l.pushFront(e)
	return e, evicted
}

func (l *lru[V]) remove(e *entry[V]) {
	if e.key.ID != "" {
		delete(l.ids, e.key.ID)
	} else {
		delete(l.addrs, e.key.Prefix)
	}
	l.unlink(e)
}

func (l *lru[V]) pushFront(e *entry[V]) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *lru[V]) unlink(e *entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
