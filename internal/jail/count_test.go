package jail

import (
	"fmt"
	"testing"
	"time"
)

// step is one hit (or, with expire set, an Expire call) and what it must yield.
type step struct {
	host    string
	at      time.Duration
	weight  int
	expire  bool
	want    Verdict
	hits    int // for Banned: Decision.Hits
	unbans  int // for expire: how many unbans
	comment string
}

func TestAddWindow(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name  string
		cfg   func(*Policy)
		steps []step
	}{
		{name: "hit exactly at t-findtime is outside", steps: []step{
			{host: "192.0.2.1", at: 0, want: Counted},
			{host: "192.0.2.1", at: 5 * s, want: Counted},
			{host: "192.0.2.1", at: 10 * s, want: Counted, comment: "the hit at 0 left the window (0,10]"},
			{host: "192.0.2.1", at: 11 * s, want: Banned, hits: 3},
		}},
		{name: "maxretry-th hit just inside bans", steps: []step{
			{host: "192.0.2.1", at: 0, want: Counted},
			{host: "192.0.2.1", at: 5 * s, want: Counted},
			{host: "192.0.2.1", at: 10*s - 1, want: Banned, hits: 3},
		}},
		{name: "hosts count separately", steps: []step{
			{host: "192.0.2.1", at: 0, want: Counted},
			{host: "192.0.2.2", at: 1 * s, want: Counted},
			{host: "192.0.2.1", at: 2 * s, want: Counted},
			{host: "192.0.2.2", at: 3 * s, want: Counted},
			{host: "192.0.2.2", at: 4 * s, want: Banned, hits: 3},
			{host: "192.0.2.1", at: 5 * s, want: Banned, hits: 3},
		}},
		{name: "hits during a ban are not counted", steps: []step{
			{host: "192.0.2.1", at: 0, want: Counted},
			{host: "192.0.2.1", at: 1 * s, want: Counted},
			{host: "192.0.2.1", at: 2 * s, want: Banned, hits: 3},
			{host: "192.0.2.1", at: 3 * s, want: AlreadyBanned},
			{host: "192.0.2.1", at: 4 * s, want: AlreadyBanned},
			{host: "192.0.2.1", at: 5 * s, want: AlreadyBanned},
		}},
		{name: "window restarts after a ban", cfg: func(c *Policy) { c.BanTime = 5 * s }, steps: []step{
			{host: "192.0.2.1", at: 0, want: Counted},
			{host: "192.0.2.1", at: 1 * s, want: Counted},
			{host: "192.0.2.1", at: 2 * s, want: Banned, hits: 3},
			{host: "192.0.2.1", at: 6 * s, want: AlreadyBanned, comment: "Until 7s not expired"},
			{expire: true, at: 7 * s, unbans: 1},
			{host: "192.0.2.1", at: 7 * s, want: Counted, comment: "hits before the ban are gone"},
			{host: "192.0.2.1", at: 8 * s, want: Counted},
			{host: "192.0.2.1", at: 9 * s, want: Banned, hits: 3},
		}},
		{name: "out of order hits are inserted in order", steps: []step{
			{host: "192.0.2.1", at: 10 * s, want: Counted},
			{host: "192.0.2.1", at: 5 * s, want: Counted},
			{host: "192.0.2.1", at: 8 * s, want: Banned, hits: 3},
		}},
		{name: "out of order hit older than the window is not counted", steps: []step{
			{host: "192.0.2.1", at: 20 * s, want: Counted},
			{host: "192.0.2.1", at: 10 * s, want: Counted, comment: "10 <= 20-10: outside"},
			{host: "192.0.2.1", at: 15 * s, want: Counted},
			{host: "192.0.2.1", at: 19 * s, want: Banned, hits: 3},
		}},
		{name: "late hit drops nothing newer than itself", steps: []step{
			{host: "192.0.2.1", at: 9 * s, want: Counted},
			{host: "192.0.2.1", at: 18 * s, want: Counted},
			{host: "192.0.2.1", at: 1 * s, want: Counted, comment: "outside (8,18]; 9 stays"},
			{host: "192.0.2.1", at: 17 * s, want: Banned, hits: 3},
		}},
		{name: "late hit exactly findtime before the newest is outside", steps: []step{
			{host: "192.0.2.1", at: 20 * s, weight: 2, want: Counted},
			{host: "192.0.2.1", at: 10 * s, want: Counted, comment: "window (10,20]"},
			{host: "192.0.2.1", at: 11 * s, want: Banned, hits: 3},
		}},
		{name: "out of order hit leaves the window in time order", steps: []step{
			{host: "192.0.2.1", at: 10 * s, want: Counted},
			{host: "192.0.2.1", at: 2 * s, want: Counted},
			{host: "192.0.2.1", at: 12 * s, want: Counted, comment: "2 left (2,12], 10 stays"},
			{host: "192.0.2.1", at: 13 * s, want: Banned, hits: 3},
		}},
		{name: "weights", cfg: func(c *Policy) { c.MaxRetry = 5 }, steps: []step{
			{host: "192.0.2.1", at: 0, weight: 3, want: Counted},
			{host: "192.0.2.1", at: 1 * s, weight: 2, want: Banned, hits: 5},
			{host: "192.0.2.2", at: 0, weight: 0, want: Counted, comment: "weight 0 counts as 1"},
			{host: "192.0.2.2", at: 1 * s, weight: -4, want: Counted},
			{host: "192.0.2.2", at: 2 * s, weight: 1, want: Counted},
			{host: "192.0.2.2", at: 3 * s, weight: 1, want: Counted},
			{host: "192.0.2.2", at: 4 * s, weight: 1, want: Banned, hits: 5},
			{host: "192.0.2.3", at: 0, weight: 1000, want: Banned, hits: 5, comment: "capped at maxretry"},
		}},
		{name: "weighted hits leave the window together", cfg: func(c *Policy) { c.MaxRetry = 5 }, steps: []step{
			{host: "192.0.2.1", at: 0, weight: 4, want: Counted},
			{host: "192.0.2.1", at: 10 * s, weight: 1, want: Counted},
			{host: "192.0.2.1", at: 11 * s, weight: 3, want: Counted},
			{host: "192.0.2.1", at: 12 * s, weight: 1, want: Banned, hits: 5},
		}},
		{name: "maxretry 1 bans on the first hit", cfg: func(c *Policy) { c.MaxRetry = 1 }, steps: []step{
			{host: "peer-a", at: 0, want: Banned, hits: 1},
			{host: "peer-b", at: 0, want: Banned, hits: 1},
		}},
		{name: "invalid host", steps: []step{
			{host: "", at: 0, want: InvalidHost},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := basic()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			j := mustNew(t, cfg)
			for i, st := range tt.steps {
				if st.expire {
					if got := j.Expire(ts(st.at)); len(got) != st.unbans {
						t.Fatalf("step %d: Expire = %d unbans, want %d", i, len(got), st.unbans)
					}
					continue
				}
				d, v := j.Add(hit(st.host, st.weight), ts(st.at), nil)
				if v != st.want {
					t.Fatalf("step %d (%s at %v): verdict %v, want %v %s", i, st.host, st.at, v, st.want, st.comment)
				}
				if v != Banned {
					if d.Action != 0 {
						t.Errorf("step %d: verdict %v came with a decision %+v", i, v, d)
					}
					continue
				}
				if d.Action != ActionBan || d.Hits != st.hits || !d.At.Equal(ts(st.at)) || d.Key.String() != st.host {
					t.Errorf("step %d: decision %+v, want ban of %s at %v with %d hits", i, d, st.host, st.at, st.hits)
				}
			}
		})
	}
}

func TestAddTimeFallsBackToHitTime(t *testing.T) {
	j := mustNew(t, basic())
	h := hit("192.0.2.1", 1)
	for i := range 3 {
		h.Time = ts(time.Duration(i) * time.Second)
		d, v := j.Add(h, time.Time{}, nil)
		if i == 2 && (v != Banned || !d.At.Equal(h.Time)) {
			t.Fatalf("third hit: %v %+v, want ban at %v", v, d, h.Time)
		}
	}
}

// TotalHits is fail2ban's "Total failed": every matching line of a host that
// is not ignored, also while it is banned.
func TestTotalsCountEveryHit(t *testing.T) {
	cfg := basic()
	cfg.IgnoreIP = mustPrefixes(t, "10.0.0.0/8")
	j := mustNew(t, cfg)
	j.Add(hit("192.0.2.1", 2), ts(0), nil)
	j.Add(hit("192.0.2.1", 1), ts(time.Second), nil) // bans: 3 hits
	j.Add(hit("192.0.2.1", 1), ts(2*time.Second), nil)
	j.Add(hit("10.1.1.1", 1), ts(2*time.Second), nil)
	j.Add(hit("10.1.1.2", 2), ts(2*time.Second), nil)
	st := j.Stats(ts(2 * time.Second))
	want := Stats{TotalHits: 4, Banned: 1, TotalBanned: 1, Ignored: 3}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// The reproduction: 95 matching lines from five hosts that are banned
// after 5 hits each showed "total hits: 90".
func TestTotalHitsAfterBans(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 5
	j := mustNew(t, cfg)
	bans := 0
	for i := range 95 {
		host := fmt.Sprintf("192.0.2.%d", 1+i%5)
		if _, v := j.Add(hit(host, 1), ts(time.Duration(i)*time.Millisecond), nil); v == Banned {
			bans++
		}
	}
	if st := j.Stats(ts(time.Second)); st.TotalHits != 95 || bans != 5 || st.TotalBanned != 5 {
		t.Errorf("95 lines, %d bans: %+v, want 95 total hits and 5 bans", bans, st)
	}
}
