package jail

import (
	"slices"
	"testing"
	"time"
)

// pendingOf renders Pending as host → hit offsets from t0, for comparison.
func pendingOf(ps []Pending) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	for _, p := range ps {
		for _, h := range p.Hits {
			if h.Location() != time.UTC {
				panic("hit time not in UTC")
			}
			out[p.Key.String()] = append(out[p.Key.String()], h.Sub(t0))
		}
	}
	return out
}

func TestPendingRoundTrip(t *testing.T) {
	const s = time.Second
	cfg := basic()
	cfg.MaxRetry = 5
	a := mustNew(t, cfg)
	a.Add(hit("192.0.2.1", 1), ts(0), nil) // outside the window at 12s
	a.Add(hit("192.0.2.1", 1), ts(3*s), nil)
	a.Add(hit("192.0.2.1", 2), ts(5*s), nil) // weight-expanded
	a.Add(hit("2001:db8::7", 1), ts(4*s), nil)
	a.Add(hit("peer-a", 1), ts(1*s), nil) // entirely outside
	a.Add(hit("peer-b", 1), ts(11*s), nil)
	now := ts(12 * s)
	saved := a.Pending(now)
	want := map[string][]time.Duration{
		"192.0.2.1":     {3 * s, 5 * s, 5 * s},
		"2001:db8::/64": {4 * s},
		"peer-b":        {11 * s},
	}
	if got := pendingOf(saved); !mapsEqual(got, want) {
		t.Fatalf("Pending = %v, want %v", got, want)
	}
	if saved[0].Key.String() != "2001:db8::/64" || saved[1].Key.String() != "192.0.2.1" {
		t.Errorf("Pending order %v, want by last hit, oldest first", saved)
	}

	b := mustNew(t, cfg)
	b.RestorePending(saved, now)
	if got := pendingOf(b.Pending(now)); !mapsEqual(got, want) {
		t.Errorf("after RestorePending: %v, want %v", got, want)
	}
	if _, v := b.Add(hit("192.0.2.1", 1), ts(12*s), nil); v != Counted {
		t.Fatalf("4th hit: %v", v)
	}
	if d, v := b.Add(hit("192.0.2.1", 1), ts(12*s+500*time.Millisecond), nil); v != Banned || d.Hits != 5 {
		t.Errorf("5th hit after restore: %v %+v, want a ban with 5 hits", v, d)
	}
}

func TestRestorePending(t *testing.T) {
	const s = time.Second
	p := func(host string, at ...time.Duration) Pending {
		var hs []time.Time
		for _, d := range at {
			hs = append(hs, ts(d))
		}
		return Pending{Key: mustKey(t, host, 0), Hits: hs}
	}
	tests := []struct {
		name  string
		cfg   func(*Policy)
		live  []string // hosts hit at 19s before the restore
		saved []Pending
		want  map[string][]time.Duration
		evict int64
	}{
		{
			name:  "old hits dropped, hosts left empty not tracked",
			saved: []Pending{p("192.0.2.1", 5*s, 10*s, 11*s), p("192.0.2.2", 2*s)},
			want:  map[string][]time.Duration{"192.0.2.1": {11 * s}},
		},
		{
			name:  "at most maxretry-1 hits, the newest",
			saved: []Pending{p("192.0.2.1", 19*s, 12*s, 13*s, 14*s, 15*s, 16*s)},
			want:  map[string][]time.Duration{"192.0.2.1": {16 * s, 19 * s}},
		},
		{
			name:  "merged with a live window, still below maxretry",
			live:  []string{"192.0.2.1"},
			saved: []Pending{p("192.0.2.1", 15*s, 16*s)},
			want:  map[string][]time.Duration{"192.0.2.1": {16 * s, 19 * s}},
		},
		{
			name:  "the same key saved twice is merged",
			saved: []Pending{p("192.0.2.1", 15*s), p("::ffff:192.0.2.1", 17*s)},
			want:  map[string][]time.Duration{"192.0.2.1": {15 * s, 17 * s}},
		},
		{
			name:  "maxhosts: live hosts stay, the most recently seen saved ones fill the room",
			cfg:   func(c *Policy) { c.MaxHosts = 3 },
			live:  []string{"peer-live"},
			saved: []Pending{p("peer-a", 18*s), p("peer-b", 12*s), p("peer-c", 17*s), p("peer-d", 11*s)},
			want:  map[string][]time.Duration{"peer-live": {19 * s}, "peer-a": {18 * s}, "peer-c": {17 * s}},
		},
		{
			name:  "ignored and own addresses skipped",
			cfg:   func(c *Policy) { c.IgnoreIP = mustPrefixes(t, "192.0.2.0/24", "2001:db8:1:2::5/128") },
			saved: []Pending{p("192.0.2.1", 15*s), p("2001:db8:1:2::/64", 15*s), p("2001:db8:1:3::/64", 15*s)},
			want:  map[string][]time.Duration{"2001:db8:1:3::/64": {15 * s}},
		},
		{
			name:  "maxretry 1 pends nothing",
			cfg:   func(c *Policy) { c.MaxRetry = 1 },
			saved: []Pending{p("192.0.2.1", 15*s)},
			want:  map[string][]time.Duration{},
		},
		{
			name:  "invalid key skipped",
			saved: []Pending{{Key: Key{}, Hits: []time.Time{ts(15 * s)}}},
			want:  map[string][]time.Duration{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := basic() // 3 hits in 10 s
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			j := mustNew(t, cfg)
			for _, h := range tt.live {
				j.Add(hit(h, 1), ts(19*s), nil)
			}
			now := ts(20 * s)
			j.RestorePending(tt.saved, now)
			if got := pendingOf(j.Pending(now)); !mapsEqual(got, tt.want) {
				t.Errorf("Pending = %v, want %v", got, tt.want)
			}
			st := j.Stats(now)
			if st.Banned != 0 || st.TotalBanned != 0 || st.Evicted != 0 {
				t.Errorf("RestorePending banned or evicted: %+v", st)
			}
		})
	}
}

func TestRestorePendingSkipsBanned(t *testing.T) {
	j := mustNew(t, basic())
	k := mustKey(t, "192.0.2.1", 0)
	j.Ban(k, t0, time.Hour)
	j.RestorePending([]Pending{{Key: k, Hits: []time.Time{t0}}}, t0)
	if st := j.Stats(t0); st.Tracked != 0 {
		t.Errorf("a banned key got a window: %+v", st)
	}
}

func mapsEqual(a, b map[string][]time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
