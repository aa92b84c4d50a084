package jail

import (
	"cmp"
	"container/heap"
	"net/netip"
	"slices"
	"time"
)

// Ban is an active ban as the state store keeps it.
type Ban struct {
	Key      Key
	At       time.Time
	Until    time.Time
	Offences int
	// EscalatedFrom is the length an escalated ban's key had before it
	// was widened (see Decision.EscalatedFrom).
	EscalatedFrom int
	// Addrs are, for an identity, the addresses the ban covers with it
	// (see Decision.Addrs).
	Addrs []netip.Prefix
}

// banSet holds the active bans by key and in a min-heap by end time, so that
// Expire costs O(log n) per ban lifted and nothing when none is due.
type banSet struct {
	byKey map[Key]*activeBan
	heap  banHeap
	seq   uint64 // insertion order breaks ties between equal ends
	ids   int    // bans of identities among them
}

type activeBan struct {
	Ban
	seq   uint64
	index int
}

func newBanSet() banSet { return banSet{byKey: make(map[Key]*activeBan)} }

func (s *banSet) has(k Key) bool { _, ok := s.byKey[k]; return ok }

// get returns k's active ban for changing in place, or nil.
func (s *banSet) get(k Key) *activeBan { return s.byKey[k] }

func (s *banSet) len() int { return len(s.byKey) }

// put adds b, replacing any active ban of the same key.
func (s *banSet) put(b Ban) {
	s.remove(b.Key)
	s.seq++
	a := &activeBan{Ban: b, seq: s.seq}
	s.byKey[b.Key] = a
	heap.Push(&s.heap, a)
	if b.Key.ID != "" {
		s.ids++
	}
}

func (s *banSet) remove(k Key) (Ban, bool) {
	a, ok := s.byKey[k]
	if !ok {
		return Ban{}, false
	}
	heap.Remove(&s.heap, a.index)
	delete(s.byKey, k)
	if k.ID != "" {
		s.ids--
	}
	return a.Ban, true
}

// next is the ban that ends first.
func (s *banSet) next() (Ban, bool) {
	if len(s.heap) == 0 {
		return Ban{}, false
	}
	return s.heap[0].Ban, true
}

// popDue removes and returns the first-ending ban if it ends at or before now.
func (s *banSet) popDue(now time.Time) (Ban, bool) {
	if len(s.heap) == 0 || s.heap[0].Until.After(now) {
		return Ban{}, false
	}
	a := heap.Pop(&s.heap).(*activeBan)
	delete(s.byKey, a.Key)
	if a.Key.ID != "" {
		s.ids--
	}
	return a.Ban, true
}

// sorted returns the active bans by end time.
func (s *banSet) sorted() []Ban {
	h := slices.Clone(s.heap)
	slices.SortFunc(h, compareBans)
	out := make([]Ban, len(h))
	for i, a := range h {
		out[i] = a.Ban
	}
	return out
}

func compareBans(a, b *activeBan) int {
	if c := a.Until.Compare(b.Until); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

type banHeap []*activeBan

func (h banHeap) Len() int { return len(h) }

func (h banHeap) Less(i, j int) bool { return compareBans(h[i], h[j]) < 0 }

func (h banHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *banHeap) Push(x any) {
	a := x.(*activeBan)
	a.index = len(*h)
	*h = append(*h, a)
}

func (h *banHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return a
}
