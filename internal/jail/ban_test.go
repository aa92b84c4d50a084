package jail

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestIncrement(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 1
	cfg.Increment = Increment{Factor: 2, MaxTime: 5 * time.Hour}
	j := mustNew(t, cfg)
	now := t0
	for i, want := range []time.Duration{1, 2, 4, 5, 5} {
		want *= time.Hour
		d, v := j.Add(hit("198.51.100.9", 1), now, nil)
		if v != Banned || d.Duration != want || d.Offences != i+1 || !d.Until.Equal(now.Add(want)) {
			t.Fatalf("ban %d: %v %+v, want %v long, offence %d", i+1, v, d, want, i+1)
		}
		now = d.Until
		if got := j.Expire(now); len(got) != 1 {
			t.Fatalf("ban %d: Expire(Until) = %v, want one unban", i+1, got)
		}
	}
}

func TestBanLength(t *testing.T) {
	const h = time.Hour
	tests := []struct {
		name string
		inc  Increment
		prev int
		want time.Duration
	}{
		{"no factor", Increment{}, 5, h},
		{"factor 1", Increment{Factor: 1, MaxTime: 3 * h}, 5, h},
		{"factor below 1 does not shrink", Increment{Factor: 0.5}, 3, h},
		{"first ban", Increment{Factor: 3}, 0, h},
		{"factor 1.5", Increment{Factor: 1.5}, 2, h * 9 / 4},
		{"maxtime caps", Increment{Factor: 10, MaxTime: 24 * h}, 2, 24 * h},
		{"no maxtime caps at the longest duration", Increment{Factor: 2}, 1000, math.MaxInt64},
		{"huge history", Increment{Factor: 2, MaxTime: 7 * 24 * h}, math.MaxInt, 7 * 24 * h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := basic()
			cfg.Increment = tt.inc
			if got := mustNew(t, cfg).banLength(tt.prev); got != tt.want {
				t.Errorf("banLength(%d) = %v, want %v", tt.prev, got, tt.want)
			}
		})
	}
}

func TestExpireOrder(t *testing.T) {
	j := mustNew(t, basic())
	const h = time.Hour
	bans := []struct {
		host  string
		at, d time.Duration
	}{
		{"192.0.2.1", 0, 3 * h},
		{"192.0.2.2", 0, 1 * h},
		{"192.0.2.3", 0, 2 * h},
		{"192.0.2.4", 1 * h, 1 * h}, // ends with .3: banned later, so expires after it
	}
	for _, b := range bans {
		if d := j.Ban(mustKey(t, b.host, 64), ts(b.at), b.d); !d.Until.Equal(ts(b.at + b.d)) {
			t.Fatalf("Ban(%s) Until = %v, want %v", b.host, d.Until, ts(b.at+b.d))
		}
	}
	if next, ok := j.NextExpiry(); !ok || !next.Equal(ts(h)) {
		t.Errorf("NextExpiry = %v %v, want %v", next, ok, ts(h))
	}
	check := func(now time.Duration, want ...string) {
		t.Helper()
		var got []string
		for _, d := range j.Expire(ts(now)) {
			if d.Action != ActionUnban || d.At.After(ts(now)) || d.Jail != "test" {
				t.Errorf("Expire(%v): %+v", now, d)
			}
			got = append(got, d.Key.String()+"@"+d.At.Sub(t0).String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("Expire(%v) = %v, want %v", now, got, want)
		}
	}
	check(h - 1)
	check(90*time.Minute, "192.0.2.2@1h0m0s")
	if next, _ := j.NextExpiry(); !next.Equal(ts(2 * h)) {
		t.Errorf("NextExpiry = %v, want %v", next, ts(2*h))
	}
	check(10*h, "192.0.2.3@2h0m0s", "192.0.2.4@2h0m0s", "192.0.2.1@3h0m0s")
	check(20 * h)
	if _, ok := j.NextExpiry(); ok {
		t.Error("NextExpiry reports a ban after all expired")
	}
}

func TestManualBanUnban(t *testing.T) {
	j := mustNew(t, basic())
	k := mustKey(t, "2001:db8:1:2::77", 64)
	j.Add(hit("2001:db8:1:2::5", 1), ts(0), []byte("first"))

	d := j.Ban(k, ts(time.Second), 0)
	if d.Action != ActionBan || d.Duration != time.Hour || d.Offences != 1 || d.Hits != 1 ||
		!slices.Equal(d.Evidence, []string{"first"}) || d.Key.String() != "2001:db8:1:2::/64" {
		t.Fatalf("Ban = %+v", d)
	}
	if st := j.Stats(ts(time.Second)); st.Tracked != 0 || st.Banned != 1 || st.TotalBanned != 1 {
		t.Errorf("after a manual ban: %+v, want the window gone and one ban", st)
	}
	if _, v := j.Add(hit("2001:db8:1:2::9", 1), ts(2*time.Second), nil); v != AlreadyBanned {
		t.Errorf("hit in a banned /64: %v, want AlreadyBanned", v)
	}
	d = j.Ban(k, ts(3*time.Second), 30*time.Minute)
	if d.Offences != 2 || !d.Until.Equal(ts(3*time.Second+30*time.Minute)) || len(j.Bans()) != 1 {
		t.Errorf("re-ban: %+v, bans %v; want a replaced ban, offence 2", d, j.Bans())
	}
	u, ok := j.Unban(mustKey(t, "2001:db8:1:2::/64", 64), ts(4*time.Second))
	if !ok || u.Action != ActionUnban || !u.At.Equal(ts(4*time.Second)) || u.Key != k {
		t.Errorf("Unban = %+v %v", u, ok)
	}
	if _, ok := j.Unban(k, ts(5*time.Second)); ok {
		t.Error("Unban of a key no longer banned succeeded")
	}
	if _, ok := j.NextExpiry(); ok {
		t.Error("an unbanned key still expires")
	}
	if d := j.Ban(Key{}, ts(0), 0); d.Action != 0 || len(j.Bans()) != 0 {
		t.Errorf("Ban(zero key) = %+v", d)
	}
}

func TestUnbanAll(t *testing.T) {
	j := mustNew(t, basic())
	j.Ban(mustKey(t, "peer-b", 64), ts(0), 2*time.Hour)
	j.Ban(mustKey(t, "peer-a", 64), ts(0), time.Hour)
	got := j.UnbanAll(ts(time.Minute))
	if len(got) != 2 || got[0].Key.ID != "peer-a" || got[1].Key.ID != "peer-b" || !got[1].At.Equal(ts(time.Minute)) {
		t.Errorf("UnbanAll = %+v", got)
	}
	if len(j.Bans()) != 0 || j.UnbanAll(ts(time.Hour)) != nil {
		t.Error("bans left after UnbanAll")
	}
}

func TestRestore(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 1
	cfg.Increment = Increment{Factor: 2}
	j := mustNew(t, cfg)
	k := mustKey(t, "203.0.113.7", 64)
	j.Restore(Ban{Key: k, At: ts(-time.Hour), Until: ts(time.Hour), Offences: 3})

	if got := j.Bans(); len(got) != 1 || got[0].Offences != 3 || !got[0].Until.Equal(ts(time.Hour)) {
		t.Fatalf("Bans = %+v", got)
	}
	if _, v := j.Add(hit("203.0.113.7", 1), ts(0), nil); v != AlreadyBanned {
		t.Errorf("hit on a restored ban: %v", v)
	}
	if st := j.Stats(ts(0)); st.TotalBanned != 0 || st.Banned != 1 {
		t.Errorf("restore counted as a new ban: %+v", st)
	}
	if got := j.Expire(ts(time.Hour)); len(got) != 1 || !got[0].At.Equal(ts(time.Hour)) {
		t.Errorf("Expire = %+v", got)
	}
	d, _ := j.Add(hit("203.0.113.7", 1), ts(time.Hour), nil)
	if d.Offences != 4 || d.Duration != 8*time.Hour {
		t.Errorf("ban after restore: %+v, want offence 4 of 8h", d)
	}
}

func TestSetOffences(t *testing.T) {
	cfg := basic()
	cfg.Increment = Increment{Factor: 3}
	j := mustNew(t, cfg)
	k := mustKey(t, "peer-x", 64)
	j.SetOffences(k, 2)
	if d := j.Ban(k, ts(0), 0); d.Offences != 3 || d.Duration != 9*time.Hour {
		t.Errorf("ban with history 2: %+v", d)
	}
	j.Unban(k, ts(0))
	j.SetOffences(k, 0)
	if d := j.Ban(k, ts(0), 0); d.Offences != 1 || d.Duration != time.Hour {
		t.Errorf("ban with history forgotten: %+v", d)
	}
}
