package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/peerjail/peerjail/internal/jail"
)

// metrics are peerjail_* series. Per-line counts are not counted again here:
// the collector in collector.go reads the pipeline's own counters at scrape
// time, which keeps the hot path free of atomic operations.
type metrics struct {
	decisions    *prometheus.CounterVec
	applySeconds prometheus.Histogram
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // collected by nobody
	}
	f := promauto.With(reg)
	return &metrics{
		decisions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "decisions_total",
			Help: "Bans and unbans decided, by jail and action.",
		}, []string{"jail", "action"}),
		applySeconds: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "peerjail", Name: "firewall_apply_seconds",
			Help:    "Time to apply one batch of changes to nftables (one netlink transaction).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		reloadOK: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded (1) or kept the old one (0).",
		}),
		reloadTime: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful configuration load.",
		}),
	}
}

func (m *metrics) decision(d jail.Decision) {
	m.decisions.WithLabelValues(d.Jail, d.Action.String()).Inc()
}

func (m *metrics) reload(ok bool) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadTime.SetToCurrentTime()
		return
	}
	m.reloadOK.Set(0)
}
