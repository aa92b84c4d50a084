//go:build linux

package nftables

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// cache remembers each set's contents after the last transaction that
// changed it, so that Apply need not read the set back from the kernel each
// time: the kernel lists a set in time quadratic in its size (100,000 bans
// take a second, see primeDumps). It is only a guide for planning: a
// transaction that fails because it was wrong clears it and is retried on
// what the kernel lists, and List always reads the kernel.
//
// A plan only ever touches the elements that overlap its changes, so Apply
// takes a window of the set (see window) and writes back only that: with
// 100,000 bans in a set, a ban costs a few binary searches and one move of
// memory instead of copying and sorting the whole set.
type cache struct {
	sets map[string]*cachedSet
}

type cachedSet struct {
	spans []firewall.Span // sorted, not overlapping
	at    time.Time       // when the spans' remaining times were true
	swept time.Time       // when expired spans were last dropped
	// partial: the set may hold more than spans (Restore planned on an
	// empty set without reading it), so a removal of something spans lacks
	// must read the set.
	partial bool
}

// sweepEvery is how often a set's expired spans are dropped; until then the
// windows skip them.
const sweepEvery = time.Minute

// window is the part of a cached set that changes to some prefixes can
// touch: ranges of indexes [lo, hi) of the spans that overlap them, sorted
// and disjoint. An empty range marks where a new firewall.Span would go.
type window struct {
	set    string
	ranges [][2]int
}

// window returns the spans of set that overlap the changes' prefixes, aged
// to now; false when the cache cannot plan the changes. Spans stay until
// firewall.ExpiryMargin past their expiry: the kernel starts a timeout when it
// commits, a little after the time recorded, so it may still hold them; the
// firewall.Planner replaces such spans rather than trusting them.
func (c *cache) window(set string, changes []firewall.Change, now time.Time) ([]firewall.Span, window, bool) {
	cs, ok := c.sets[set]
	if !ok {
		return nil, window{}, false
	}
	w := window{set: set, ranges: make([][2]int, 0, len(changes))}
	for _, ch := range changes {
		s := firewall.SpanOf(ch.Prefix)
		lo := sort.Search(len(cs.spans), func(i int) bool { return cs.spans[i].Last.Compare(s.First) >= 0 })
		hi := lo
		for hi < len(cs.spans) && cs.spans[hi].First.Compare(s.Last) <= 0 {
			hi++
		}
		if cs.partial && !ch.Add && (hi != lo+1 || !cs.spans[lo].Same(s)) {
			return nil, window{}, false
		}
		w.ranges = append(w.ranges, [2]int{lo, hi})
	}
	slices.SortFunc(w.ranges, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	merged := w.ranges[:0]
	for _, r := range w.ranges {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	w.ranges = merged
	elapsed := now.Sub(cs.at)
	var out []firewall.Span
	for _, r := range w.ranges {
		for _, s := range cs.spans[r[0]:r[1]] {
			if s, ok := aged(s, elapsed); ok {
				out = append(out, s)
			}
		}
	}
	return out, w, true
}

// aged returns s as it is elapsed later, and false once it is surely gone.
func aged(s firewall.Span, elapsed time.Duration) (firewall.Span, bool) {
	if s.Timeout > 0 {
		s.Remaining -= elapsed
		if s.Remaining <= -firewall.ExpiryMargin {
			return s, false
		}
	}
	return s, true
}

// commit replaces w's ranges with result, the sorted spans a plan on the
// window ended with, whose remaining times are true at now.
func (c *cache) commit(w window, result []firewall.Span, now time.Time) {
	cs := c.sets[w.set]
	shift := now.Sub(cs.at)
	for i := range result {
		if result[i].Timeout > 0 {
			result[i].Remaining += shift // counted from cs.at, like the rest
		}
	}
	// Each result firewall.Span lies between the spans around its range: hand them
	// out from the last range back, so that earlier indexes stay valid.
	j := len(result)
	for k := len(w.ranges) - 1; k >= 0; k-- {
		lo, hi := w.ranges[k][0], w.ranges[k][1]
		i := j
		for i > 0 && (lo == 0 || result[i-1].First.Compare(cs.spans[lo-1].Last) > 0) {
			i--
		}
		cs.spans = slices.Replace(cs.spans, lo, hi, result[i:j]...)
		j = i
	}
	if now.Sub(cs.swept) >= sweepEvery {
		c.sweep(cs, now)
	}
}

// sweep drops the spans that are surely gone by now.
func (c *cache) sweep(cs *cachedSet, now time.Time) {
	elapsed := now.Sub(cs.at)
	cs.spans = slices.DeleteFunc(cs.spans, func(s firewall.Span) bool {
		_, ok := aged(s, elapsed)
		return !ok
	})
	cs.swept = now
}

// put records a set's contents as of at, a time taken before the
// transaction that made them was sent, or before they were listed; partial
// when the set may hold more.
func (c *cache) put(set string, spans []firewall.Span, at time.Time, partial bool) {
	if c.sets == nil {
		c.sets = map[string]*cachedSet{}
	}
	c.sets[set] = &cachedSet{spans: firewall.NewPlanner(spans).Spans, at: at, swept: at, partial: partial}
}

func (c *cache) clear() { c.sets = nil }
