package daemon

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/firewall"
)

// The series the alert rules and the dashboard need beyond the counts:
// when each jail last read a line, its maxhosts, and its top offenders.
func TestCollectorOperatorSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	started := time.Now()
	td := newTestDaemonWith(t, t.TempDir(), firewall.NewFake(), func(o *Options) { o.Registry = reg })
	last := func() float64 { return metricValue(t, reg, "peerjail_last_line_timestamp_seconds", "jail", "ssh") }
	if v := last(); v < float64(started.Unix()) {
		t.Errorf("last line %v before any line, want the jail's start (after %v)", v, started.Unix())
	}
	if v := metricValue(t, reg, "peerjail_max_hosts", "jail", "ssh"); v != 1_000_000 {
		t.Errorf("max hosts %v, want the default 1000000", v)
	}
	before := last()
	td.appendLines(t, failed("198.51.100.7", 2)...)
	td.appendLines(t, failed("198.51.100.8", 1)...)
	waitFor(t, "the lines read", func() bool { return last() > before })
	hits := func(host string) float64 {
		// A scrape walks the hosts again only 15s after the last walk.
		td.d.top.mu.Lock()
		td.d.top.gen = nil
		td.d.top.mu.Unlock()
		return metricValue(t, reg, "peerjail_top_offender_hits", "host", host)
	}
	waitFor(t, "the top offenders", func() bool { return hits("198.51.100.7") == 2 && hits("198.51.100.8") == 1 })
	if v := hits("198.51.100.9"); v != 0 {
		t.Errorf("a host never seen: %v hits", v)
	}
}

// One walk of the failing hosts serves the scrapes of the next 15s.
func TestTopOffendersWalkedEvery15s(t *testing.T) {
	td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	g := td.d.current()
	var c topCache
	now := time.Now()
	walk := func(at time.Time) (first []byte) {
		var top [][]byte
		g.eng.Do(func() {
			for _, o := range c.get(g, at)[0] {
				top = append(top, []byte(o.Key.String()))
			}
		})
		if len(top) == 0 {
			return nil
		}
		return top[0]
	}
	if got := walk(now); got != nil {
		t.Fatalf("top offender %s before any line", got)
	}
	td.appendLines(t, failed("198.51.100.7", 1)...)
	waitFor(t, "the hit counted", func() bool {
		var n int
		g.eng.Do(func() { n = len(g.jails[0].lane.Counter.Failing(time.Now(), 1)) })
		return n == 1
	})
	if got := walk(now.Add(14 * time.Second)); got != nil {
		t.Errorf("a walk 14s after the last: %s, want the cached (empty) answer", got)
	}
	if got := walk(time.Now().Add(16 * time.Second)); string(got) != "198.51.100.7" {
		t.Errorf("a walk 16s after the last: %q, want 198.51.100.7", got)
	}
}
