package heartbeat

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the peerjail_heartbeat_* series. An alert compares the last
// success with the interval: the monitor's own alarm is the one that
// matters, this one tells the operator's Prometheus why.
type Metrics struct {
	lastSuccess prometheus.Gauge
	interval    prometheus.Gauge
	failures    prometheus.Counter
	pings       *prometheus.CounterVec
}

// NewMetrics registers the heartbeat's series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "heartbeat_last_success_timestamp_seconds",
			Help: "Time the monitor last accepted a healthy ping (0: never).",
		}),
		interval: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "heartbeat_interval_seconds",
			Help: "The configured time between heartbeat pings.",
		}),
		failures: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "heartbeat_failures_total",
			Help: "Heartbeat pings the monitor did not accept (no answer, or not 2xx).",
		}),
		pings: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "heartbeat_pings_total",
			Help: "Heartbeat pings sent, by what they said: ok (healthy) or fail (the /fail ping of an unhealthy daemon).",
		}, []string{"state"}),
	}
	m.pings.WithLabelValues("ok")
	m.pings.WithLabelValues("fail")
	return m
}

func (m *Metrics) setInterval(d time.Duration) {
	if m != nil {
		m.interval.Set(d.Seconds())
	}
}

func (m *Metrics) record(healthy, accepted bool, now time.Time) {
	if m == nil {
		return
	}
	state := "ok"
	if !healthy {
		state = "fail"
	}
	m.pings.WithLabelValues(state).Inc()
	switch {
	case !accepted:
		m.failures.Inc()
	case healthy:
		m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	}
}

// Stopped marks the heartbeat as no longer configured: its interval
// reads 0, which the alert rules take as "no heartbeat".
func (m *Metrics) Stopped() {
	if m != nil {
		m.interval.Set(0)
	}
}
