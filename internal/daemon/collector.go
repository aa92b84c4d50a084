package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the jails' counters, read at scrape time on the counting
// side (Engine.Do), so counting itself pays nothing for metrics.
type collector struct{ d *Daemon }

var (
	descLines   = prometheus.NewDesc("peerjail_lines_total", "Log lines read, by jail and outcome (miss, matched, ignored, nohost, unparsed, undated).", []string{"jail", "outcome"}, nil)
	descBanned  = prometheus.NewDesc("peerjail_banned", "Bans in force now, by jail: held by the kernel at the last apply or verification, or, in a jail without nftables, acknowledged by every queued action that takes them (or by a dry-run jail's log).", []string{"jail"}, nil)
	descPending = prometheus.NewDesc("peerjail_bans_pending", "Bans decided but not in force now (the kernel refused or lost them, or a queued action has not acknowledged them; retried), by jail.", []string{"jail"}, nil)
	descFailing = prometheus.NewDesc("peerjail_failing_hosts", "Hosts with hits inside findtime now, by jail.", []string{"jail"}, nil)
	descTracked = prometheus.NewDesc("peerjail_tracked_hosts", "Hosts with pending hits in memory, by jail.", []string{"jail"}, nil)
	descEvicted = prometheus.NewDesc("peerjail_evicted_hosts_total", "Hosts dropped because maxhosts was reached, by jail.", []string{"jail"}, nil)
	// A line's stamp more than max_clock_skew ahead of the daemon's clock
	// (future) or older than findtime (past) is not trusted: the hit counts
	// at the time the line was read, and here.
	descTimeReplaced = prometheus.NewDesc("peerjail_line_time_replaced_total", "Matched lines whose stamp was distrusted and replaced by the read time, by jail and reason (future, past).", []string{"jail", "reason"}, nil)

	descLastLine = prometheus.NewDesc("peerjail_last_line_timestamp_seconds", "Time the jail last read a line, or started reading before its first, by jail: a log nobody writes or nobody reads shows as an old value.", []string{"jail"}, nil)
	descMaxHosts = prometheus.NewDesc("peerjail_max_hosts", "The jail's maxhosts: past it, the oldest tracked host is evicted.", []string{"jail"}, nil)
	descTopHits  = prometheus.NewDesc("peerjail_top_offender_hits", "Hits inside findtime of the jail's 10 hosts with the most (ties: the most recent), by jail and host; found at most every 15s. Hosts below the 10 are not exported.", []string{"jail", "host"}, nil)

	descStoreBehind = prometheus.NewDesc("peerjail_store_behind", "Records (bans, history, positions, windows) the state file does not hold yet because writing it failed; retried every second.", nil, nil)
	descStoreErrors = prometheus.NewDesc("peerjail_store_errors_total", "Writes to the state file that failed (full disk, I/O error).", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLines, descBanned, descPending, descFailing, descTracked, descEvicted, descTimeReplaced, descLastLine, descMaxHosts, descTopHits, descStoreBehind, descStoreErrors} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	g := c.d.current()
	if g == nil {
		return
	}
	// A generation runs, so the store is open: setup opens it first.
	ch <- prometheus.MustNewConstMetric(descStoreBehind, prometheus.GaugeValue, float64(c.d.st.Behind()))
	ch <- prometheus.MustNewConstMetric(descStoreErrors, prometheus.CounterValue, float64(c.d.st.Errors()))
	now := c.d.o.Now()
	g.eng.Do(func() {
		top := c.d.top.get(g, now)
		for i, lj := range g.jails {
			n, cs := lj.cfg.Name, lj.lane.Counts
			st := lj.lane.Counter.Stats(now)
			miss := cs.Lines - cs.Matched - cs.Ignored - cs.NoHost - cs.Unparsed - cs.Undated
			for _, o := range []struct {
				name string
				v    int64
			}{{"miss", miss}, {"matched", cs.Matched}, {"ignored", cs.Ignored}, {"nohost", cs.NoHost},
				{"unparsed", cs.Unparsed}, {"undated", cs.Undated}} {
				ch <- prometheus.MustNewConstMetric(descLines, prometheus.CounterValue, float64(o.v), n, o.name)
			}
			enforced, pending := c.d.enf.counts(n)
			ch <- prometheus.MustNewConstMetric(descBanned, prometheus.GaugeValue, float64(enforced), n)
			ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending), n)
			ch <- prometheus.MustNewConstMetric(descFailing, prometheus.GaugeValue, float64(st.Failing), n)
			ch <- prometheus.MustNewConstMetric(descTracked, prometheus.GaugeValue, float64(st.Tracked), n)
			ch <- prometheus.MustNewConstMetric(descEvicted, prometheus.CounterValue, float64(st.Evicted), n)
			ch <- prometheus.MustNewConstMetric(descTimeReplaced, prometheus.CounterValue, float64(cs.FutureTime), n, "future")
			ch <- prometheus.MustNewConstMetric(descTimeReplaced, prometheus.CounterValue, float64(cs.PastTime), n, "past")
			ch <- prometheus.MustNewConstMetric(descLastLine, prometheus.GaugeValue, float64(cs.LastRead.UnixNano())/1e9, n)
			ch <- prometheus.MustNewConstMetric(descMaxHosts, prometheus.GaugeValue, float64(lj.cfg.Policy.MaxHosts), n)
			for _, o := range top[i] {
				ch <- prometheus.MustNewConstMetric(descTopHits, prometheus.GaugeValue, float64(o.Hits), n, o.Key.String())
			}
		}
	})
}
