package action

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the peerjail_action_* series, shared by every Runner of a
// daemon.
type Metrics struct {
	decisions    *prometheus.CounterVec
	errors       *prometheus.CounterVec
	queueLength  *prometheus.GaugeVec
	dropped      *prometheus.CounterVec
	applySeconds *prometheus.HistogramVec
}

// Results of peerjail_action_decisions_total.
const (
	resultOK      = "ok"
	resultFailed  = "failed"
	resultDropped = "dropped"
)

// NewMetrics registers the series with reg; nil registers them nowhere.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // collected by nobody
	}
	f := promauto.With(reg)
	return &Metrics{
		decisions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "action_decisions_total",
			Help: "Decisions given to an action, by jail, action and result: ok (took effect), failed (an attempt failed; retried) or dropped (queue full or retries exhausted).",
		}, []string{"jail", "action", "result"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "action_errors_total",
			Help: "Attempts of an action to apply a batch that failed in part or whole, by jail and action.",
		}, []string{"jail", "action"}),
		queueLength: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "action_queue_length",
			Help: "Decisions waiting for an action, retries included, by jail and action.",
		}, []string{"jail", "action"}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "action_dropped_total",
			Help: "Decisions an action never carried out: its queue was full (the oldest goes) or its retries ran out, by jail and action.",
		}, []string{"jail", "action"}),
		applySeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "peerjail", Name: "action_apply_seconds",
			Help:    "Time one Apply of an action took, by action type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1ms .. 65s
		}, []string{"action"}),
	}
}

// series are one Runner's children of the vectors.
type series struct {
	ok, failed, drop prometheus.Counter
	errors, dropped  prometheus.Counter
	queue            prometheus.Gauge
	apply            prometheus.Observer
}

func (m *Metrics) series(jail, action, kind string) series {
	return series{
		ok:      m.decisions.WithLabelValues(jail, action, resultOK),
		failed:  m.decisions.WithLabelValues(jail, action, resultFailed),
		drop:    m.decisions.WithLabelValues(jail, action, resultDropped),
		errors:  m.errors.WithLabelValues(jail, action),
		dropped: m.dropped.WithLabelValues(jail, action),
		queue:   m.queueLength.WithLabelValues(jail, action),
		apply:   m.applySeconds.WithLabelValues(kind),
	}
}
