package jail

import (
	"math"
	"time"
	"unicode/utf8"
)

// Evidence limits: a ban carries at most maxEvidence lines of at most
// maxLineBytes bytes each, so a hostile log line cannot bloat memory or the
// state store.
const (
	maxEvidence  = 10
	maxLineBytes = 1024
	cutMark      = "…"
)

// window is one host's pending hits and its latest matched lines.
type window struct {
	// times holds the hit times in Unix nanoseconds, ascending, one entry per
	// unit of weight. It never reaches MaxRetry entries: the hit that would make
	// it do so bans the host and empties the window. It grows on demand, so a
	// host seen once costs one entry whatever MaxRetry is.
	times []int64
	// lines is a ring of evidence; once full, head is the oldest line.
	lines [][]byte
	head  int
}

func (w *window) reset() {
	w.times = w.times[:0]
	w.lines = w.lines[:0]
	w.head = 0
}

// newest is the latest hit time; the window is never empty while tracked.
func (w *window) newest() int64 { return w.times[len(w.times)-1] }

// drop forgets the hits at or before lo.
func (w *window) drop(lo int64) {
	n := 0
	for n < len(w.times) && w.times[n] <= lo {
		n++
	}
	if n > 0 {
		w.times = w.times[:copy(w.times, w.times[n:])]
	}
}

// insert adds n copies of t in time order. Hits mostly arrive in order, so the
// place is searched from the end. limit bounds the capacity ever allocated.
func (w *window) insert(t int64, n, limit int) {
	i := len(w.times)
	for i > 0 && w.times[i-1] > t {
		i--
	}
	need := len(w.times) + n
	if need > cap(w.times) {
		grown := make([]int64, len(w.times), min(max(need, 2*cap(w.times)), limit))
		copy(grown, w.times)
		w.times = grown
	}
	w.times = w.times[:need]
	copy(w.times[i+n:], w.times[i:need-n])
	for k := i; k < i+n; k++ {
		w.times[k] = t
	}
}

// countIn returns how many hits fall in (lo, hi] and the latest of them.
func (w *window) countIn(lo, hi int64) (n int, last int64) {
	for _, t := range w.times {
		if t > lo && t <= hi {
			n, last = n+1, t
		}
	}
	return n, last
}

// addLine keeps a copy of line, dropping the oldest beyond keep lines. The
// buffers of overwritten or reset slots are reused.
func (w *window) addLine(line []byte, keep int) {
	if len(w.lines) < keep {
		if len(w.lines) < cap(w.lines) {
			w.lines = w.lines[:len(w.lines)+1]
		} else {
			w.lines = append(w.lines, nil)
		}
		i := len(w.lines) - 1
		w.lines[i] = copyLine(w.lines[i], line)
		return
	}
	w.lines[w.head] = copyLine(w.lines[w.head], line)
	w.head = (w.head + 1) % len(w.lines)
}

// evidence returns the kept lines, oldest first.
func (w *window) evidence() []string {
	if len(w.lines) == 0 {
		return nil
	}
	out := make([]string, 0, len(w.lines))
	for i := range w.lines {
		out = append(out, string(w.lines[(w.head+i)%len(w.lines)]))
	}
	return out
}

// copyLine copies line into dst's storage: callers reuse their read buffers.
// Lines over maxLineBytes are cut on a character boundary and marked.
func copyLine(dst, line []byte) []byte {
	if len(line) <= maxLineBytes {
		return append(dst[:0], line...)
	}
	cut := maxLineBytes - len(cutMark)
	for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(line[cut]); back++ {
		cut--
	}
	return append(append(dst[:0], line[:cut]...), cutMark...)
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
