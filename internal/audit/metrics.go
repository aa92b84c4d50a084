package audit

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics count failures both for Prometheus and for Errors and Dropped.
type metrics struct {
	errors, dropped   prometheus.Counter
	errorsN, droppedN atomic.Uint64
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		errors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "audit_errors_total",
			Help: "Writes, rotations and fsyncs of the audit trail that failed.",
		}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "audit_dropped_total",
			Help: "Audit records lost because their write failed (banning went on).",
		}),
	}
}

func (m *metrics) failed() { m.errors.Inc(); m.errorsN.Add(1) }

func (m *metrics) drop(n int) {
	m.dropped.Add(float64(n))
	m.droppedN.Add(uint64(n))
}
