package jail

import (
	"math"
	"time"
)

// count slides host i's window to a hit at t and returns how many hits the
// window holds with it. The hit is stored only when it does not ban: a ban
// ends the window. The window is exact: with ref the later of t and the newest
// hit, hits at or before ref-FindTime are dropped.
func (j *Counter) count(i uint32, t int64, weight int) int {
	h := &j.hosts
	ts := h.times(i)
	ref, newest := t, int64(math.MinInt64)
	if len(ts) > 0 {
		newest = ts[len(ts)-1]
		ref = max(ref, newest)
	}
	lo := subSat(ref, j.cfg.FindTime)
	drop := 0
	for drop < len(ts) && ts[drop] <= lo {
		drop++
	}
	if t <= lo {
		if drop > 0 {
			h.setTimes(i, ts[drop:], j.cfg.MaxRetry-1)
		}
		return len(ts) - drop // too late for the window
	}
	hits := len(ts) - drop + weight
	if hits >= j.cfg.MaxRetry {
		return hits
	}
	// Hits mostly arrive in order, so the place is searched from the end.
	at := len(ts)
	for at > drop && ts[at-1] > t {
		at--
	}
	buf := append(j.scratch[:0], ts[drop:at]...)
	for range weight {
		buf = append(buf, t)
	}
	buf = append(buf, ts[at:]...)
	j.scratch = buf
	h.setTimes(i, buf, j.cfg.MaxRetry-1)
	if len(ts) == 0 {
		h.link(i)
	} else {
		h.relink(i, newest)
	}
	return hits
}

// countIn returns how many of i's hits fall in (lo, hi] and the latest of them.
func (h *hostTable) countIn(i uint32, lo, hi int64) (n int, last int64) {
	for _, t := range h.times(i) {
		if t > lo && t <= hi {
			n, last = n+1, t
		}
	}
	return n, last
}

// Times are kept as Unix nanoseconds (pointer-free, a third of time.Time's
// size); times beyond what that represents (before 1678, after 2262) are
// clamped rather than wrapped. The lowest value is kept free so that t-FindTime
// is always below any hit time t.
var (
	minNanos = time.Unix(0, math.MinInt64+1)
	maxNanos = time.Unix(0, math.MaxInt64)
)

func toNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64 + 1
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// subSat returns n-d, stopping at the smallest int64 instead of wrapping.
func subSat(n int64, d time.Duration) int64 {
	if n < math.MinInt64+int64(d) {
		return math.MinInt64
	}
	return n - int64(d)
}
