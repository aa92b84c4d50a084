package jail

import (
	"cmp"
	"slices"
	"time"
)

// Stats are a jail's counters for `status` and metrics. Hit counts are
// weighted: a hit of weight w counts w times, as it does in the window.
type Stats struct {
	Failing     int   // hosts with at least one hit inside (now-FindTime, now]
	TotalHits   int64 // hits counted since start, not ignored (also those of banned hosts)
	Banned      int   // currently banned
	TotalBanned int64 // bans since start, manual ones included, restored ones not
	Tracked     int   // hosts with pending windows
	Evicted     int64 // windows dropped at MaxHosts
	Ignored     int64 // IgnoredHost hits
}

// Offender is a host with pending hits, for `status`.
type Offender struct {
	Key  Key
	Hits int       // hits inside (now-FindTime, now]
	Last time.Time // the latest of them, in UTC
}

// Stats is cheap enough for every metrics scrape: it looks only at the hosts
// whose hits left findtime since the last Prune and at those with hits after
// now, not at every tracked host.
func (j *Counter) Stats(now time.Time) Stats {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	return Stats{
		Failing:     j.hosts.len() - j.hosts.stale(lo) - j.hosts.future(hi),
		TotalHits:   j.totalHits,
		Banned:      j.bans.len(),
		TotalBanned: j.totalBanned,
		Tracked:     j.hosts.len(),
		Evicted:     j.evicted,
		Ignored:     j.ignored,
	}
}

// stale counts the hosts whose newest hit is at or before lo: a run of ticks
// at the tail, whole ticks counted at once.
func (h *hostTable) stale(lo int64) int {
	n, edge := 0, h.tickOf(lo)
	for x := h.tail; x != none; {
		b := h.tickOf(h.newest(x))
		span := h.span(x, b)
		switch {
		case b < edge || span.hi <= lo:
			n += int(span.count)
			x = h.at(span.last).next
			continue
		case b == edge && span.lo <= lo:
			for y := span.first; ; y = h.at(y).next {
				if h.newest(y) <= lo {
					n++
				}
				if y == span.last {
					break
				}
			}
		}
		return n
	}
	return n
}

// future counts the hosts whose hits all lie after hi. A window spans less
// than FindTime, so every other host with a hit after hi also has one inside
// (hi-FindTime, hi].
func (h *hostTable) future(hi int64) int {
	n, edge := 0, h.tickOf(hi)
	for x := h.head; x != none; {
		b := h.tickOf(h.newest(x))
		span := h.span(x, b)
		if b < edge || span.hi <= hi {
			return n
		}
		for y := span.last; ; y = h.at(y).prev {
			if h.oldest(y) > hi {
				n++
			}
			if y == span.first {
				break
			}
		}
		x = h.at(span.first).prev
	}
	return n
}

// Failing returns up to n hosts (all when n <= 0) with hits inside
// (now-FindTime, now], most hits first, then most recent first. It walks the
// hosts seen within findtime, keeping no more than 2n of them at a time.
func (j *Counter) Failing(now time.Time, n int) []Offender {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	h := &j.hosts
	var out []Offender
	for x := h.head; x != none && h.tickOf(h.newest(x)) >= h.tickOf(lo); x = h.at(x).prev {
		if hits, last := h.countIn(x, lo, hi); hits > 0 {
			out = append(out, Offender{Key: h.keyOf(x), Hits: hits, Last: fromNanos(last)})
			if n > 0 && len(out) >= 2*n {
				out = topOffenders(out, n)
			}
		}
	}
	if n > 0 {
		return topOffenders(out, n)
	}
	return topOffenders(out, len(out))
}

func topOffenders(out []Offender, n int) []Offender {
	slices.SortFunc(out, func(a, b Offender) int {
		if c := cmp.Compare(b.Hits, a.Hits); c != 0 {
			return c
		}
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return cmp.Compare(a.Key.String(), b.Key.String())
	})
	return out[:min(n, len(out))]
}

// Prune forgets the windows whose hits all lie at or before now-FindTime and
// returns how many it dropped. Without it such windows linger until evicted at
// MaxHosts; a daemon calls it now and then to give the memory back. It costs
// what it drops, plus at most the hosts of one tick. Evidence lines of hits
// at or before now-FindTime go too.
func (j *Counter) Prune(now time.Time) int {
	lo := subSat(toNanos(now), j.cfg.FindTime)
	j.lines.release(lo)
	h := &j.hosts
	n, edge := 0, h.tickOf(lo)
	for h.tail != none {
		x := h.tail
		b := h.tickOf(h.newest(x))
		if b > edge {
			break
		}
		span := h.span(x, b)
		if b < edge || span.hi <= lo {
			h.remove(x)
			n++
			continue
		}
		// The tick holding lo: its hosts are not ordered within it.
		for y := span.first; ; {
			next, last := h.at(y).next, y == span.last
			if h.newest(y) <= lo {
				h.remove(y)
				n++
			}
			if last {
				break
			}
			y = next
		}
		break
	}
	return n
}
