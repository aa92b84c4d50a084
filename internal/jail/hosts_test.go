package jail

import (
	"fmt"
	"testing"
	"time"
)

func TestEviction(t *testing.T) {
	cfg := basic()
	cfg.MaxHosts = 2
	j := mustNew(t, cfg)
	const s = time.Second
	j.Add(hit("192.0.2.1", 1), ts(0), nil)
	j.Add(hit("192.0.2.2", 1), ts(1*s), nil)
	j.Add(hit("192.0.2.1", 1), ts(2*s), nil) // .2 is now the least recently seen
	j.Add(hit("192.0.2.3", 1), ts(3*s), nil)
	st := j.Stats(ts(3 * s))
	if st.Tracked != 2 || st.Evicted != 1 {
		t.Fatalf("Stats = %+v, want 2 tracked, 1 evicted", st)
	}
	got := map[string]int{}
	for _, o := range j.Failing(ts(3*s), 0) {
		got[o.Key.String()] = o.Hits
	}
	if len(got) != 2 || got["192.0.2.1"] != 2 || got["192.0.2.3"] != 1 {
		t.Errorf("tracked after eviction: %v, want .1 (2 hits) and .3 (1 hit)", got)
	}
	// .2 starts over, and in doing so evicts .1.
	j.Add(hit("192.0.2.2", 1), ts(4*s), nil)
	if _, v := j.Add(hit("192.0.2.2", 1), ts(5*s), nil); v != Counted {
		t.Errorf(".2 after eviction: %v, want its window restarted", v)
	}
}

func TestEvictionKeepsHistory(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 2
	cfg.MaxHosts = 2
	cfg.Increment = Increment{Factor: 2}
	j := mustNew(t, cfg)
	const s = time.Second
	j.Add(hit("peer-x", 1), ts(0), nil)
	if _, v := j.Add(hit("peer-x", 1), ts(1*s), nil); v != Banned {
		t.Fatal("peer-x not banned")
	}
	j.Expire(ts(2 * time.Hour))
	j.Add(hit("peer-x", 1), ts(2*time.Hour), nil)
	j.Add(hit("peer-y", 1), ts(2*time.Hour+s), nil)
	j.Add(hit("peer-z", 1), ts(2*time.Hour+2*s), nil) // evicts peer-x's window
	if st := j.Stats(ts(2 * time.Hour)); st.Evicted != 1 {
		t.Fatalf("Evicted = %d, want 1", st.Evicted)
	}
	if _, v := j.Add(hit("peer-x", 1), ts(2*time.Hour+3*s), nil); v != Counted {
		t.Fatalf("peer-x kept its window through eviction: %v", v)
	}
	d, v := j.Add(hit("peer-x", 1), ts(2*time.Hour+4*s), nil)
	if v != Banned || d.Offences != 2 || d.Duration != 2*time.Hour {
		t.Errorf("second ban: %v %+v, want offence 2 of 2h", v, d)
	}
}

func TestHistoryCap(t *testing.T) {
	cfg := basic()
	cfg.MaxHosts = 2
	j := mustNew(t, cfg)
	for _, id := range []string{"a", "b", "c"} {
		j.Ban(Key{ID: id}, t0, time.Minute)
	}
	j.UnbanAll(t0)
	if d := j.Ban(Key{ID: "a"}, t0, time.Minute); d.Offences != 1 {
		t.Errorf("oldest history kept beyond MaxHosts: offence %d", d.Offences)
	}
	if d := j.Ban(Key{ID: "c"}, t0, time.Minute); d.Offences != 2 {
		t.Errorf("recent history lost: offence %d", d.Offences)
	}
}

func TestIPv6Grouping(t *testing.T) {
	tests := []struct {
		bits     int
		verdicts [2]Verdict
		key      string
	}{
		{64, [2]Verdict{Counted, Banned}, "2001:db8:1:2::/64"},
		{128, [2]Verdict{Counted, Counted}, ""},
		{0, [2]Verdict{Counted, Banned}, "2001:db8:1:2::/64"}, // default
	}
	for _, tt := range tests {
		cfg := basic() // three hits ban
		cfg.IPv6Prefix = tt.bits
		j := mustNew(t, cfg)
		j.Add(hit("2001:db8:1:2::1", 1), ts(0), nil)
		_, v1 := j.Add(hit("2001:db8:1:2::2", 1), ts(time.Second), nil)
		d, v2 := j.Add(hit("2001:db8:1:2:ffff::3", 1), ts(2*time.Second), nil)
		if v1 != tt.verdicts[0] || v2 != tt.verdicts[1] {
			t.Errorf("/%d: verdicts %v %v, want %v", tt.bits, v1, v2, tt.verdicts)
		}
		if v2 == Banned && d.Key.String() != tt.key {
			t.Errorf("/%d: banned %q, want %q", tt.bits, d.Key, tt.key)
		}
		if tt.bits == 128 {
			if n := j.Stats(ts(2 * time.Second)).Tracked; n != 3 {
				t.Errorf("/128: %d hosts tracked, want 3", n)
			}
		}
	}
}

func TestIPv4Mapped(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 2
	j := mustNew(t, cfg)
	j.Add(hit("::ffff:203.0.113.7", 1), ts(0), nil)
	d, v := j.Add(hit("203.0.113.7", 1), ts(time.Second), nil)
	if v != Banned || d.Key.String() != "203.0.113.7" || !d.Key.Prefix.Addr().Is4() {
		t.Errorf("mapped and plain IPv4: %v %+v, want one /32 key banned", v, d)
	}
}

// A spoofed flood creates millions of one-hit hosts: their memory must follow
// their hits, not MaxRetry.
func TestWindowMemoryFollowsHits(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 1000
	cfg.FindTime = time.Hour
	j := mustNew(t, cfg)
	j.Add(hit("192.0.2.1", 1), t0, []byte("one"))
	i := j.hosts.get(mustKey(t, "192.0.2.1", 0))
	// Evidence is only kept within maxEvidence hits of a ban.
	if _, spilled := j.hosts.more[i]; spilled || *j.hosts.lineRef(i) != 0 {
		t.Errorf("one hit spilled its times (%v) or kept its line (%d)", spilled, *j.hosts.lineRef(i))
	}
	for i := range 998 {
		j.Add(hit("192.0.2.1", 1), ts(time.Duration(i)*time.Millisecond), fmt.Appendf(nil, "line %d", i+2))
	}
	m := j.hosts.more[i]
	if len(m) != 999 || cap(m) > 999 || len(j.lines.lines(*j.hosts.lineRef(i), 1000)) != maxEvidence-1 {
		t.Errorf("999 hits: %d times (room %d), %d lines", len(m), cap(m), len(j.lines.lines(*j.hosts.lineRef(i), 1000)))
	}
	// The ban still carries the last maxEvidence lines, in order.
	d, v := j.Add(hit("192.0.2.1", 1), ts(time.Second), []byte("line 1000"))
	if v != Banned || len(d.Evidence) != maxEvidence || d.Evidence[0] != "line 991" || d.Evidence[maxEvidence-1] != "line 1000" {
		t.Errorf("ban: %v, evidence %q", v, d.Evidence)
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	cfg := basic()
	cfg.FindTime = time.Second
	j := mustNew(t, cfg)
	h := hit("2001:db8::1", 1)
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(600 * time.Millisecond) // at most two hits in the window: never bans
		if _, v := j.Add(h, now, benchLine); v != Counted {
			t.Fatalf("verdict %v", v)
		}
	})
	if allocs != 0 {
		t.Errorf("Add on a known host allocates %.1f times", allocs)
	}
}
