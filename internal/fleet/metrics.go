package fleet

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	dto "github.com/prometheus/client_model/go"
)

type metrics struct {
	connected     prometheus.Gauge
	published     prometheus.Counter
	publishErrors prometheus.Counter
	dropped       prometheus.Counter
	received      *prometheus.CounterVec // by result
	decisions     *prometheus.CounterVec // by jail and action
}

func newMetrics(reg prometheus.Registerer, outboxLen func() float64) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // counted for Status, exported nowhere
	}
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "peerjail", Name: "fleet_outbox_length",
		Help: "Reports waiting in the outbox for the stream to acknowledge them.",
	}, outboxLen)
	return &metrics{
		connected: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "peerjail", Name: "fleet_connected",
			Help: "1 while the fleet's NATS connection is up; local bans go on without it.",
		}),
		published: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "fleet_published_total",
			Help: "Reports the stream acknowledged.",
		}),
		publishErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "fleet_publish_errors_total",
			Help: "Publishes that got no acknowledgement; the report stays queued.",
		}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "fleet_outbox_dropped_total",
			Help: "Reports dropped unsent, oldest first, from a full outbox or one that failed to write.",
		}),
		received: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "fleet_reports_received_total",
			Help: "Reports read from the stream, by result: counted, ignored (a jail without fleet policy here), invalid, or dropped (table full).",
		}, []string{"result"}),
		decisions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "peerjail", Name: "fleet_bans_total",
			Help: "Fleet decisions handed to the daemon, by jail and action (ban or unban).",
		}, []string{"jail", "action"}),
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
