package jail

import (
	"fmt"
	"testing"
	"time"
)

// checkTicks fails unless the list is ordered by tick and the tick index
// holds exactly the ticks of two hosts or more, each with its run's ends,
// count and bounds on its hosts' newest hits.
func checkTicks(t *testing.T, h *hostTable) {
	t.Helper()
	runs := 0
	for x := h.tail; x != none; {
		b := h.tickOf(h.newest(x))
		first, n := x, uint32(0)
		last := x
		for ; x != none && h.tickOf(h.newest(x)) == b; x = h.at(x).next {
			last, n = x, n+1
		}
		if x != none && h.tickOf(h.newest(x)) < b {
			t.Fatalf("tick %d after tick %d in the list", h.tickOf(h.newest(x)), b)
		}
		span, ok := h.ticks[b]
		if n == 1 {
			if ok {
				t.Fatalf("tick %d of one host is in the index: %+v", b, span)
			}
			continue
		}
		runs++
		if !ok || span.first != first || span.last != last || span.count != n {
			t.Fatalf("tick %d: index %+v (%v), list holds %d..%d, %d hosts", b, span, ok, first, last, n)
		}
		for y := first; ; y = h.at(y).next {
			if u := h.newest(y); u < span.lo || u > span.hi {
				t.Fatalf("tick %d: newest %d outside bounds %d..%d", b, u, span.lo, span.hi)
			}
			if y == last {
				break
			}
		}
	}
	if runs != len(h.ticks) {
		t.Fatalf("index holds %d ticks, the list %d of two hosts or more", len(h.ticks), runs)
	}
}

// TestTickIndex runs hits, late ones among them, on few hosts within few
// ticks (a tick is a millisecond here), with bans, evictions, manual bans and
// prunes, and checks the list and the tick index after every step: hosts
// join and leave ticks of one, two and more.
func TestTickIndex(t *testing.T) {
	cfg := Policy{Name: "test", FindTime: 65536 * time.Millisecond, MaxRetry: 6, BanTime: time.Second, MaxHosts: 12}
	j := mustNew(t, cfg)
	x := uint64(7)
	rnd := func(n int) int {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(n))
	}
	now := t0
	for step := range 20_000 {
		host := fmt.Sprintf("192.0.2.%d", rnd(16))
		switch r := rnd(100); {
		case r < 2:
			j.Prune(now.Add(time.Duration(rnd(70_000)) * time.Millisecond))
		case r < 4:
			j.Ban(mustKey(t, host, 0), now, time.Millisecond)
		default:
			now = now.Add(time.Duration(rnd(3)) * time.Millisecond)
			at := now
			if rnd(4) == 0 { // late, by up to five ticks
				at = at.Add(-time.Duration(rnd(6)) * time.Millisecond)
			}
			j.Expire(now)
			j.Add(hit(host, 1+rnd(2)), at, nil)
		}
		checkTicks(t, &j.hosts)
		if t.Failed() {
			t.Fatalf("step %d", step)
		}
	}
}
