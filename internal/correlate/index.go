package correlate

import "math/bits"

// index finds entries by the hash of their name. It replaces a
// map[uint64]int32 because learning is mostly lookups that miss, inserts and
// evictions in a table larger than the caches, and there the Go map pays a
// cache miss per level (directory, table, group control word, slot) and
// another walk to delete the evicted entry's key. Here a lookup most often
// reads one 4-byte slot, and the index of a 100k-entry table is 1 MiB.
// BenchmarkIndex (100k random hashes): a lookup that finds its entry 10.8
// ns against the map's 21.9, one that finds none 12.4 against 23.4, an
// eviction's remove and insert 41.5 against 104. In the libp2p replay,
// where other tables evict this one from the caches, Learn went from 17.6%
// of the CPU to 12.6% (with the entry layout of correlate.go).
//
// It is open addressing with linear probing over a power-of-two array. A
// slot packs a tag (low bits of the hash) over the entry's index + 1; 0 is
// empty. A hash's home slot is its top bits. Removing leaves a tombstone,
// unless the next slot is empty: then it and the tombstones before it are
// emptied. When entries and tombstones would fill more than three quarters
// of the slots, the index is rebuilt, into at least twice as many slots as
// entries, from the entries' hashes, which the caller hands over in entry
// order (a sequential read): it grows by doubling as entries are added, so
// that a table with a large Max but few identities stays small, and
// churn at a steady size rebuilds it in place. The tag only narrows a
// lookup: the caller compares the entry's name, and several entries may
// share a hash.
type index struct {
	slots   []uint32
	shift   uint   // 64 - log2(len(slots)): h>>shift is h's home slot
	idxBits uint   // low bits of a slot: entry + 1
	idxMask uint32 // also the tombstone: its entry part cannot be an entry's
	n       int    // entries
	tombs   int
}

// minIndexLen slots are allocated by the first insert.
const minIndexLen = 64

// newIndex returns an empty index for entries below maxEntries.
func newIndex(maxEntries int) index {
	b := uint(bits.Len(uint(maxEntries) + 1)) // entry+1 < idxMask
	return index{idxBits: b, idxMask: 1<<b - 1}
}

func (x *index) tag(h uint64) uint32 { return uint32(h) << x.idxBits }

// home is the first slot a lookup of h reads.
func (x *index) home(h uint64) int {
	if len(x.slots) == 0 {
		return 0
	}
	return int(h >> x.shift)
}

// next returns the first slot from pos on, in probe order, that is empty
// (i is nilIdx) or whose tag is h's (i is its entry). Pass the slot after
// the one returned to go on.
func (x *index) next(h uint64, pos int) (int, int32) {
	if len(x.slots) == 0 {
		return 0, nilIdx
	}
	mask := len(x.slots) - 1
	tag := x.tag(h)
	for {
		pos &= mask
		s := x.slots[pos]
		if s == 0 {
			return pos, nilIdx
		}
		if s&^x.idxMask == tag && s != x.idxMask {
			return pos, int32(s&x.idxMask) - 1
		}
		pos++
	}
}

// full reports whether an insert must first rebuild, at rebuildLen.
func (x *index) full() bool { return 4*(x.n+x.tombs+1) > 3*len(x.slots) }

// rebuildLen is the size for the entries held and one more: at least twice
// as many slots.
func (x *index) rebuildLen() int {
	size := minIndexLen
	for size < 2*(x.n+1) {
		size *= 2
	}
	return size
}

// rebuild empties the index into size slots and adds what each yields:
// every entry but the one about to be inserted.
func (x *index) rebuild(size int, each func(yield func(h uint64, i int32))) {
	if size == len(x.slots) {
		clear(x.slots)
	} else {
		x.slots = make([]uint32, size)
		x.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	}
	x.n, x.tombs = 0, 0
	each(x.insert)
}

// insert adds entry i under h; i must not be in the index already, and the
// index must not be full.
func (x *index) insert(h uint64, i int32) {
	mask := len(x.slots) - 1
	pos := int(h >> x.shift)
	for s := x.slots[pos]; s != 0 && s != x.idxMask; s = x.slots[pos] {
		pos = (pos + 1) & mask
	}
	if x.slots[pos] == x.idxMask {
		x.tombs--
	}
	x.slots[pos] = x.tag(h) | uint32(i+1)
	x.n++
}

// remove drops entry i, found under h.
func (x *index) remove(h uint64, i int32) {
	mask := len(x.slots) - 1
	want := uint32(i + 1)
	pos := int(h >> x.shift)
	for x.slots[pos]&x.idxMask != want {
		pos = (pos + 1) & mask
	}
	x.n--
	if x.slots[(pos+1)&mask] != 0 {
		x.slots[pos] = x.idxMask
		x.tombs++
		return
	}
	// No probe goes on past an empty slot: this one and the tombstones
	// before it are needed by none.
	x.slots[pos] = 0
	for pos = (pos - 1) & mask; x.slots[pos] == x.idxMask; pos = (pos - 1) & mask {
		x.slots[pos] = 0
		x.tombs--
	}
}
