package correlate

import "math/bits"

// index finds entries by the hash of their name. It replaces a
// map[uint64]int32 because learning is mostly lookups that miss, inserts and
// evictions in a table larger than the caches, and there the Go map pays a
// cache miss per level (directory, table, group control word, slot) and
// another walk to delete the evicted entry's key. Here a lookup reads one
// slot, most often one cache line: BenchmarkIndex puts it at about a third
// of the map's time per operation on 100k random hashes (figures in
// bench_test.go).
//
// It is open addressing with linear probing over a power-of-two array kept
// at most half full, grown by doubling as entries are added, so that a
// table with a large Max but few identities stays small. A slot packs the
// top 32 bits of the hash (its tag) over the entry's index + 1; 0 is empty.
// A hash's home slot is its top bits, so a slot's home is known from its tag
// alone: growing and deleting (backward shift, no tombstones) read no
// entries. The tag only narrows a lookup: the caller compares the entry's
// full hash and name, and several entries may share a hash.
type index struct {
	slots []uint64
	shift uint // 64 - log2(len(slots)): h>>shift is h's home slot
	n     int  // slots in use
}

const (
	// minIndexLen slots are allocated by the first insert.
	minIndexLen = 64
	tagMask     = uint64(0xffff_ffff) << 32
)

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
	tag := h & tagMask
	for {
		pos &= mask
		s := x.slots[pos]
		if s == 0 {
			return pos, nilIdx
		}
		if s&tagMask == tag {
			return pos, int32(uint32(s)) - 1
		}
		pos++
	}
}

// insert adds entry i under h; i must not be in the index already.
func (x *index) insert(h uint64, i int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(h&tagMask | uint64(uint32(i)+1))
	x.n++
}

// place puts s in the first empty slot from its home.
func (x *index) place(s uint64) {
	mask := len(x.slots) - 1
	pos := int(s >> x.shift)
	for x.slots[pos] != 0 {
		pos = (pos + 1) & mask
	}
	x.slots[pos] = s
}

// remove drops entry i, found under h.
func (x *index) remove(h uint64, i int32) {
	mask := len(x.slots) - 1
	want := uint32(i) + 1
	pos := int(h >> x.shift)
	for uint32(x.slots[pos]) != want {
		pos = (pos + 1) & mask
	}
	// Backward shift: pull later slots of the run into the hole when their
	// home allows it, so that no lookup stops at the hole before them.
	hole := pos
	for k := (hole + 1) & mask; x.slots[k] != 0; k = (k + 1) & mask {
		home := int(x.slots[k] >> x.shift)
		if (k-home)&mask >= (k-hole)&mask {
			x.slots[hole] = x.slots[k]
			hole = k
		}
	}
	x.slots[hole] = 0
	x.n--
}

// grow doubles the slots; the homes come from the tags.
func (x *index) grow() {
	old := x.slots
	size := max(2*len(old), minIndexLen)
	x.slots = make([]uint64, size)
	x.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}
