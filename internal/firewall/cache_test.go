//go:build linux

package firewall

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestCacheWindowPlansLikeTheWholeSet checks the shortcut Apply takes on a
// big set: planning on the window of spans the changes touch, then writing
// the result back, must leave the cache as planning on the whole set would,
// whatever the overlaps, removals and expiries.
func TestCacheWindowPlansLikeTheWholeSet(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 300 {
		checkWindow(t, randomSpans(r, 40), randomChanges(r, 1+r.IntN(6)), time.Duration(r.IntN(90))*time.Second)
	}
}

// FuzzCacheWindow is TestCacheWindowPlansLikeTheWholeSet on the planner
// fuzzer's inputs (decodePlanInput), after data[0] seconds have passed.
func FuzzCacheWindow(f *testing.F) {
	f.Add([]byte{30, 2, 1, 32, 0, 24, 1, 5, 30, 0, 1, 32, 1, 0, 24})
	f.Add([]byte{0, 3, 0, 25, 128, 25, 7, 32, 1, 0, 24, 0, 0, 24, 1, 4, 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		elapsed := time.Duration(data[0]%90) * time.Second
		existing, changes := decodePlanInput(data[1:])
		checkWindow(t, existing, changes, elapsed)
	})
}

// checkWindow plans changes on existing (a set's spans, elapsed ago) through
// the cache's window and on the whole set, and compares the outcomes.
func checkWindow(t *testing.T, existing []span, changes []Change, elapsed time.Duration) {
	t.Helper()
	var c cache
	c.put("j_v4", existing, FakeEpoch, false)
	now := FakeEpoch.Add(elapsed)
	oracle := newPlanner(cacheState(c.sets["j_v4"], now))
	replay(oracle, changes)
	cur, w, ok := c.window("j_v4", changes, now)
	if !ok {
		t.Fatal("window of a cached set refused")
	}
	p := newPlanner(cur)
	replay(p, changes)
	if got, want := describeSpans(p.del), describeSpans(oracle.del); got != want {
		t.Fatalf("%v on the window deletes %s, on the whole set %s", changes, got, want)
	}
	c.commit(w, p.spans, now)
	if got, want := describeSpans(cacheState(c.sets["j_v4"], now)), describeSpans(oracle.spans); got != want {
		t.Fatalf("%v\nwindow path leaves %s\nwhole set leaves   %s", changes, got, want)
	}
}

func replay(p *planner, changes []Change) {
	for _, ch := range changes {
		if ch.Add {
			p.add(ch.Prefix, ch.Timeout)
		} else {
			p.remove(ch.Prefix)
		}
	}
}

// TestCacheRemovalOfUnknownAfterRestoreReadsTheSet: after Restore the cache
// knows only the restored bans, so it must refuse to plan the removal of
// anything else, which would otherwise silently stay in the kernel.
func TestCacheRemovalOfUnknownAfterRestoreReadsTheSet(t *testing.T) {
	var c cache
	c.put("j_v4", spansFrom(t, "10.0.0.1/32", "10.0.0.9/32"), FakeEpoch, true)
	for _, tc := range []struct {
		changes []Change
		ok      bool
	}{
		{[]Change{unban("j", "10.0.0.1/32")}, true},
		{[]Change{ban("j", "10.0.0.5/32", time.Hour)}, true},
		{[]Change{unban("j", "10.0.0.5/32")}, false},
		{[]Change{ban("j", "10.0.0.5/32", time.Hour), unban("j", "10.0.0.0/24")}, false},
	} {
		if _, _, ok := c.window("j_v4", tc.changes, FakeEpoch); ok != tc.ok {
			t.Errorf("window for %v: ok %v, want %v", tc.changes, ok, tc.ok)
		}
	}
}

// cacheState is what a cached set holds at now, as the planner starts from.
func cacheState(cs *cachedSet, now time.Time) []span {
	var out []span
	for _, s := range cs.spans {
		if s, ok := aged(s, now.Sub(cs.at)); ok {
			out = append(out, s)
		}
	}
	return out
}

func describeSpans(spans []span) string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s-%s/%s", s.first, s.last, s.remaining))
	}
	return strings.Join(out, " ")
}

// randomSpans returns n non-overlapping prefixes of 10.0.0.0/24 with
// timeouts of a minute or less, some about to expire.
func randomSpans(r *rand.Rand, n int) []span {
	var out []span
	for range n {
		s := spanOf(randomPrefix(r))
		s.timeout = time.Minute
		s.remaining = time.Duration(r.IntN(60)+1) * time.Second
		out = append(out, s)
	}
	return newPlanner(out).spans // drops the overlapping ones
}

func randomChanges(r *rand.Rand, n int) []Change {
	var out []Change
	for range n {
		c := Change{Jail: "j", Prefix: randomPrefix(r), Add: r.IntN(3) > 0}
		if c.Add {
			c.Timeout = time.Duration(r.IntN(120)+1) * time.Second
		}
		out = append(out, c)
	}
	return out
}

func randomPrefix(r *rand.Rand) netip.Prefix {
	a := netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))})
	return netip.PrefixFrom(a, 26+r.IntN(7)).Masked()
}
