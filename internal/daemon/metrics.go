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

	firewallErrors *prometheus.CounterVec
	repairs        *prometheus.CounterVec
	verifySeconds  prometheus.Histogram
	verifiedTime   prometheus.Gauge
	verifyInterval prometheus.Gauge
}

// firewallOps are the operations peerjail_firewall_errors_total counts,
// exported at 0 from the start so that alerts see them.
var firewallOps = []string{"apply", "setup", "restore", "list", "verify", "watch"}

// driftKinds are the labels of peerjail_firewall_repairs_total.
var driftKinds = []string{"table", "chain", "set", "element"}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // collected by nobody
	}
	f := promauto.With(reg)
	m := &metrics{
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
		firewallErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "firewall_errors_total",
			Help: "Firewall operations that failed, by operation (apply, setup, restore, list, verify, watch).",
		}, []string{"op"}),
		repairs: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "firewall_repairs_total",
			Help: "Times the kernel was found to lack part of peerjail's nftables state and repaired, by what was missing (table, chain, set, element).",
		}, []string{"what"}),
		verifySeconds: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "peerjail", Name: "firewall_verify_seconds",
			Help:    "Time to verify that nftables holds every ban (one listing of the sets).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		verifiedTime: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "firewall_last_verified_timestamp_seconds",
			Help: "Time nftables was last read and compared with every ban peerjail enforces (or the verification loop started); 0 without nftables.",
		}),
		verifyInterval: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "firewall_verify_interval_seconds",
			Help: "Longest wait until the next periodic verification of nftables, as the loop set it last; 0 without nftables.",
		}),
	}
	for _, op := range firewallOps {
		m.firewallErrors.WithLabelValues(op)
	}
	for _, w := range driftKinds {
		m.repairs.WithLabelValues(w)
	}
	return m
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
