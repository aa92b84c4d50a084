//go:build linux

package nftables

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
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

// FuzzCacheWindow is TestCacheWindowPlansLikeTheWholeSet on the firewall.Planner
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
func checkWindow(t *testing.T, existing []firewall.Span, changes []firewall.Change, elapsed time.Duration) {
	t.Helper()
	var c cache
	c.put("j_v4", existing, firewall.FakeEpoch, false)
	now := firewall.FakeEpoch.Add(elapsed)
	oracle := firewall.NewPlanner(cacheState(c.sets["j_v4"], now))
	replay(oracle, changes)
	cur, w, ok := c.window("j_v4", changes, now)
	if !ok {
		t.Fatal("window of a cached set refused")
	}
	p := firewall.NewPlanner(cur)
	replay(p, changes)
	if got, want := describeSpans(p.Del), describeSpans(oracle.Del); got != want {
		t.Fatalf("%v on the window deletes %s, on the whole set %s", changes, got, want)
	}
	c.commit(w, p.Spans, now)
	if got, want := describeSpans(cacheState(c.sets["j_v4"], now)), describeSpans(oracle.Spans); got != want {
		t.Fatalf("%v\nwindow path leaves %s\nwhole set leaves   %s", changes, got, want)
	}
}

func replay(p *firewall.Planner, changes []firewall.Change) {
	for _, ch := range changes {
		if ch.Add {
			p.Add(ch.Prefix, ch.Timeout)
		} else {
			p.Remove(ch.Prefix)
		}
	}
}

// TestCacheRemovalOfUnknownAfterRestoreReadsTheSet: after Restore the cache
// knows only the restored bans, so it must refuse to plan the removal of
// anything else, which would otherwise silently stay in the kernel.
func TestCacheRemovalOfUnknownAfterRestoreReadsTheSet(t *testing.T) {
	var c cache
	c.put("j_v4", spansFrom(t, "10.0.0.1/32", "10.0.0.9/32"), firewall.FakeEpoch, true)
	for _, tc := range []struct {
		changes []firewall.Change
		ok      bool
	}{
		{[]firewall.Change{unban("j", "10.0.0.1/32")}, true},
		{[]firewall.Change{ban("j", "10.0.0.5/32", time.Hour)}, true},
		{[]firewall.Change{unban("j", "10.0.0.5/32")}, false},
		{[]firewall.Change{ban("j", "10.0.0.5/32", time.Hour), unban("j", "10.0.0.0/24")}, false},
	} {
		if _, _, ok := c.window("j_v4", tc.changes, firewall.FakeEpoch); ok != tc.ok {
			t.Errorf("window for %v: ok %v, want %v", tc.changes, ok, tc.ok)
		}
	}
}

// cacheState is what a cached set holds at now, as the firewall.Planner starts from.
func cacheState(cs *cachedSet, now time.Time) []firewall.Span {
	var out []firewall.Span
	for _, s := range cs.spans {
		if s, ok := aged(s, now.Sub(cs.at)); ok {
			out = append(out, s)
		}
	}
	return out
}

func describeSpans(spans []firewall.Span) string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s-%s/%s", s.First, s.Last, s.Remaining))
	}
	return strings.Join(out, " ")
}

// randomSpans returns n non-overlapping prefixes of 10.0.0.0/24 with
// timeouts of a minute or less, some about to expire.
func randomSpans(r *rand.Rand, n int) []firewall.Span {
	var out []firewall.Span
	for range n {
		s := firewall.SpanOf(randomPrefix(r))
		s.Timeout = time.Minute
		s.Remaining = time.Duration(r.IntN(60)+1) * time.Second
		out = append(out, s)
	}
	return firewall.NewPlanner(out).Spans // drops the overlapping ones
}

func randomChanges(r *rand.Rand, n int) []firewall.Change {
	var out []firewall.Change
	for range n {
		c := firewall.Change{Jail: "j", Prefix: randomPrefix(r), Add: r.IntN(3) > 0}
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

// decodePlanInput reads: a count of existing elements, two bytes each
// (last octet, prefix length; from 128 on about to expire), then changes of three bytes each (op, last
// octet, prefix length), all within 10.0.0.0/24.
func decodePlanInput(data []byte) ([]firewall.Span, []firewall.Change) {
	prefix := func(octet, bits byte) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, octet}), 24+int(bits%9)).Masked()
	}
	if len(data) == 0 {
		return nil, nil
	}
	n := int(data[0] % 8)
	data = data[1:]
	var existing []firewall.Span
	for ; n > 0 && len(data) >= 2; n-- {
		s := firewall.SpanOf(prefix(data[0], data[1]))
		s.Timeout, s.Remaining = time.Hour, time.Minute
		if data[1] >= 128 {
			s.Remaining = 500 * time.Millisecond // about to expire
		}
		existing = append(existing, s)
		data = data[2:]
	}
	var changes []firewall.Change
	for i := 0; len(data) >= 3; i++ {
		c := firewall.Change{Jail: "j", Prefix: prefix(data[1], data[2]), Add: data[0]%2 == 1, Timeout: time.Duration(i+1) * time.Second}
		if !c.Add {
			c.Timeout = 0
		}
		changes = append(changes, c)
		data = data[3:]
	}
	return existing, changes
}

func spansFrom(t *testing.T, prefixes ...string) []firewall.Span {
	t.Helper()
	var out []firewall.Span
	for _, p := range prefixes {
		s := firewall.SpanOf(netip.MustParsePrefix(p))
		s.Timeout, s.Remaining = time.Hour, time.Minute
		out = append(out, s)
	}
	return out
}
