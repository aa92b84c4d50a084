package jail

import (
	"slices"
	"testing"
	"time"
)

func TestFailingAndStats(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 5
	j := mustNew(t, cfg)
	const s = time.Second
	hits := []struct {
		host string
		at   time.Duration
	}{
		{"192.0.2.1", 0}, {"192.0.2.1", 11 * s}, {"192.0.2.1", 12 * s},
		{"192.0.2.2", 13 * s}, {"192.0.2.2", 14 * s}, {"192.0.2.2", 15 * s},
		{"peer-a", 2 * s},
		{"peer-b", 16 * s},
		{"peer-c", 30 * s},    // after now: not failing yet
		{"peer-edge", 10 * s}, // exactly now-FindTime: no longer failing
	}
	for _, h := range hits {
		j.Add(hit(h.host, 1), ts(h.at), nil)
	}
	now := ts(20 * s) // window (10s, 20s]
	got := j.Failing(now, 0)
	want := []Offender{
		{Key: mustKey(t, "192.0.2.2", 0), Hits: 3, Last: ts(15 * s)},
		{Key: mustKey(t, "192.0.2.1", 0), Hits: 2, Last: ts(12 * s)},
		{Key: mustKey(t, "peer-b", 0), Hits: 1, Last: ts(16 * s)},
	}
	if !slices.EqualFunc(got, want, func(a, b Offender) bool {
		return a.Key == b.Key && a.Hits == b.Hits && a.Last.Equal(b.Last)
	}) {
		t.Errorf("Failing = %+v\nwant %+v", got, want)
	}
	if top := j.Failing(now, 1); len(top) != 1 || top[0].Key != want[0].Key {
		t.Errorf("Failing(n=1) = %+v", top)
	}
	st := j.Stats(now)
	if st.Failing != 3 || st.Tracked != 6 || st.TotalHits != 10 {
		t.Errorf("Stats = %+v, want 3 failing of 6 tracked, 10 hits", st)
	}
}

func TestPrune(t *testing.T) {
	j := mustNew(t, basic())
	const s = time.Second
	j.Add(hit("192.0.2.1", 1), ts(0), nil)
	j.Add(hit("192.0.2.2", 1), ts(5*s), nil)
	j.Add(hit("192.0.2.3", 1), ts(8*s), nil)
	if n := j.Prune(ts(15 * s)); n != 2 {
		t.Errorf("Prune at 15s dropped %d, want 2 (hits at 0s and 5s)", n)
	}
	if st := j.Stats(ts(15 * s)); st.Tracked != 1 || st.Evicted != 0 {
		t.Errorf("after Prune: %+v", st)
	}
	if n := j.Prune(ts(100 * s)); n != 1 || j.Stats(ts(0)).Tracked != 0 {
		t.Errorf("Prune at 100s dropped %d", n)
	}
}
