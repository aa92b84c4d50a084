package correlate

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
)

func addrOf(k int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(k)}) }

// entries stands for a Table's entries: a hash per entry, and whether the
// entry is held.
type entries struct {
	x      index
	hashes []uint64
	held   []bool
}

func newEntries(max int) *entries { return &entries{x: newIndex(max)} }

func (es *entries) each(yield func(h uint64, i int32)) {
	for i, h := range es.hashes {
		if es.held[i] {
			yield(h, int32(i))
		}
	}
}

// add holds a new entry under h, as Table.insert does.
func (es *entries) add(h uint64) int32 {
	i := int32(len(es.hashes))
	es.hashes, es.held = append(es.hashes, h), append(es.held, false)
	if es.x.full() {
		es.x.rebuild(es.x.rebuildLen(), es.each)
	}
	es.x.insert(h, i)
	es.held[i] = true
	return i
}

func (es *entries) drop(i int32) {
	es.x.remove(es.hashes[i], i)
	es.held[i] = false
}

// find returns every held entry under h, as Table.find walks them.
func (es *entries) find(h uint64) []int32 {
	var out []int32
	pos := es.x.home(h)
	for {
		var i int32
		pos, i = es.x.next(h, pos)
		if i == nilIdx {
			return out
		}
		if es.hashes[i] == h {
			out = append(out, i)
		}
		pos++
	}
}

// check finds every held entry, and only those, and counts what the index
// says it holds.
func (es *entries) check(t *testing.T) {
	t.Helper()
	n, slots := 0, 0
	for i, h := range es.hashes {
		found := false
		for _, j := range es.find(h) {
			if !es.held[j] {
				t.Fatalf("dropped entry %d found under %#x", j, h)
			}
			found = found || j == int32(i)
		}
		if found != es.held[i] {
			t.Fatalf("entry %d (%#x): found %v, held %v", i, h, found, es.held[i])
		}
		if es.held[i] {
			n++
		}
	}
	tombs := 0
	for _, s := range es.x.slots {
		switch {
		case s == es.x.idxMask:
			tombs++
		case s != 0:
			slots++
		}
	}
	if es.x.n != n || slots != n || es.x.tombs != tombs {
		t.Fatalf("index counts %d entries and %d tombstones; %d are held, %d slots hold one, %d are tombstones", es.x.n, es.x.tombs, n, slots, tombs)
	}
	if 4*(n+tombs) > 3*len(es.x.slots) {
		t.Fatalf("%d entries and %d tombstones in %d slots: more than three quarters full", n, tombs, len(es.x.slots))
	}
}

func TestIndexGrowsByDoubling(t *testing.T) {
	es := newEntries(100_000)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{}
	for range 100_000 {
		es.add(rng.Uint64())
		if len(sizes) == 0 || sizes[len(sizes)-1] != len(es.x.slots) {
			sizes = append(sizes, len(es.x.slots))
		}
	}
	es.check(t)
	for k, size := range sizes {
		if want := minIndexLen << k; size != want {
			t.Fatalf("sizes %v: want doubling from %d", sizes, minIndexLen)
		}
	}
	if got := len(es.x.slots); got != 1<<18 {
		t.Errorf("100k entries in %d slots, want %d (4 bytes each)", got, 1<<18)
	}
	if es.find(rng.Uint64()) != nil {
		t.Error("a hash never added was found")
	}
}

// Hashes whose home is the last slots make a run that wraps to the first;
// removing from it, at either end and across the wrap, leaves the others
// found, and emptying the run leaves no tombstone.
func TestIndexRemoveAcrossWrap(t *testing.T) {
	es := newEntries(1000)
	homed := func(home int, k uint64) uint64 { return uint64(home)<<58 | k } // 64 slots
	es.add(homed(62, 0))
	var run []int32
	for k := range 8 {
		run = append(run, es.add(homed(63, uint64(k))))
	}
	es.add(homed(0, 0)) // behind the wrapped run
	es.add(homed(1, 0))
	if len(es.x.slots) != minIndexLen || es.x.slots[0]&es.x.idxMask != uint32(run[1]+1) {
		t.Fatalf("setup: %d slots, slot 0 %#x: the run does not wrap", len(es.x.slots), es.x.slots[0])
	}
	es.check(t)
	for _, k := range []int{3, 0, 7, 1, 6, 2, 5, 4} {
		es.drop(run[k])
		es.check(t)
	}
	for i, held := range es.held {
		if held {
			es.drop(int32(i))
		}
	}
	es.check(t)
	if es.x.tombs != 0 {
		t.Errorf("%d tombstones left in an empty index", es.x.tombs)
	}
}

// Hashes that share their home slot and their tag (the low bits) are told
// apart by the full hash; the same hash twice is two entries.
func TestIndexSharedHomeAndTag(t *testing.T) {
	es := newEntries(1000)
	var same []int32
	for k := range 40 {
		same = append(same, es.add(0x5500_0000_0000_0000|uint64(k)<<32|0x1234))
	}
	twice := []int32{es.add(7), es.add(7)}
	es.check(t)
	if got := es.find(7); len(got) != 2 || got[0] != twice[0] || got[1] != twice[1] {
		t.Errorf("find(7) = %v, want %v", got, twice)
	}
	for k := 0; k < len(same); k += 3 {
		es.drop(same[k])
	}
	es.drop(twice[0])
	es.check(t)
	if got := es.find(7); len(got) != 1 || got[0] != twice[1] {
		t.Errorf("after dropping one, find(7) = %v, want [%d]", got, twice[1])
	}
}

// Churn at a steady size (evictions) reuses tombstones and rebuilds the
// index in place rather than growing it.
func TestIndexChurnStaysSized(t *testing.T) {
	es := newEntries(200_000) // entries are never reused here
	rng := rand.New(rand.NewPCG(3, 4))
	var held []int32
	for range 3000 {
		held = append(held, es.add(rng.Uint64()))
	}
	// The first rebuild makes room for twice the entries; later ones
	// reuse it.
	const room = 8192
	for k := range 100_000 {
		j := rng.IntN(len(held))
		es.drop(held[j])
		held[j] = es.add(rng.Uint64())
		if k%10_000 == 0 {
			es.check(t)
		}
		if len(es.x.slots) > room {
			t.Fatalf("op %d: 3000 entries under churn grew the index to %d slots", k, len(es.x.slots))
		}
	}
	es.check(t)
}

// Names whose whole hashes collide are both kept: neither evicts the other.
func TestTableFullHashCollisions(t *testing.T) {
	tb := New(Config{Max: 100})
	tb.hashMask = 0 // every name hashes to 0
	names := modelNames(50)[:50]
	for k, name := range names {
		tb.Learn(name, addrOf(k), at(0))
	}
	if tb.Len() != 50 || tb.Evicted() != 0 {
		t.Fatalf("Len %d Evicted %d, want 50 and 0", tb.Len(), tb.Evicted())
	}
	for k, name := range names {
		if got := addrs(t, tb, name, at(1)); len(got) != 1 || got[0] != addrOf(k).String() {
			t.Errorf("%s: %v, want [%v]", name, got, addrOf(k))
		}
	}
	if got := addrs(t, tb, "12D3KooW-never-seen", at(1)); got != nil {
		t.Errorf("an unknown name under the same hash: %v", got)
	}
}

// The entry's layout (correlate.go) assumes two whole cache lines, the
// first starting with what the hand and put read.
func TestEntryIsTwoLines(t *testing.T) {
	typ := reflect.TypeFor[entry]()
	if typ.Size() != 128 {
		t.Errorf("entry is %d bytes, want 128", typ.Size())
	}
	for _, name := range []string{"n", "ref", "inline"} {
		if f, _ := typ.FieldByName(name); f.Offset+f.Type.Size() > 64 {
			t.Errorf("entry.%s ends at byte %d: past the first line", name, f.Offset+f.Type.Size())
		}
	}
}
