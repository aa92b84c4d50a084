package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// consumerInfo is the consumer's view of the stream, for status.
type consumerInfo struct {
	name string
	c    jetstream.Consumer
}

// ConsumerName is the durable consumer of the host whose reporter is r.
func ConsumerName(r string) string { return "peerjail-" + r }

// consumeLoop reads the stream through this host's durable consumer, so a
// host that was away resumes where it stopped; set-up failures (stream not
// there yet, no permission, server away) are retried.
func (f *Fleet) consumeLoop(ctx context.Context, js jetstream.JetStream) {
	for ctx.Err() == nil {
		err := f.consume(ctx, js)
		if err != nil && ctx.Err() == nil {
			f.noteError(err)
			f.log.Warn("fleet: consumer", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.opts.Retry):
		}
	}
}

func (f *Fleet) consume(ctx context.Context, js jetstream.JetStream) error {
	s, err := f.stream(ctx, js)
	if err != nil {
		return err
	}
	c, err := f.consumer(ctx, s)
	if err != nil {
		return err
	}
	if !f.replayed {
		if err := f.replay(ctx, s, c); err != nil {
			return err
		}
		f.replayed = true
	}
	f.mu.Lock()
	f.cons = consumerInfo{ConsumerName(f.reporter), c}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.cons = consumerInfo{}
		f.mu.Unlock()
	}()
	// The consumer survives reconnects by itself; only its deletion (a
	// lost cluster, an operator) needs a new one.
	gone := make(chan error, 1)
	// A short heartbeat finds a pull request lost with a server in about
	// two seconds instead of the default ten.
	cc, err := c.Consume(func(m jetstream.Msg) { f.handle(ctx, m) },
		jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case gone <- err:
				default:
				}
			}
		}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", ConsumerName(f.reporter), err)
	}
	defer func() { cc.Stop(); <-cc.Closed() }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-gone:
		return fmt.Errorf("consumer %s: %w", ConsumerName(f.reporter), err)
	}
}

// consumer finds this host's durable consumer or creates it. A new one
// starts a window back, which is all a quorum can use.
func (f *Fleet) consumer(ctx context.Context, s jetstream.Stream) (jetstream.Consumer, error) {
	name := ConsumerName(f.reporter)
	c, err := s.Consumer(ctx, name)
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", name, err)
		}
		return c, nil
	}
	start := f.opts.Now().Add(-f.maxWindow())
	c, err = s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "peerjail fleet reports for " + f.reporter,
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &start,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Reports handed to a pull request that a lost server took with
		// it come again after AckWait; counting is idempotent, so a short
		// one only costs a rare second delivery.
		AckWait:       5 * time.Second,
		MaxAckPending: 4096,
		FilterSubject: f.cfg.Subject + ".>",
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", name, err)
	}
	return c, nil
}

// handle counts one report; it runs on the consumer's one goroutine. The
// report is acknowledged after its decision is delivered, so a host that
// stops in between reads it again.
func (f *Fleet) handle(ctx context.Context, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		f.m.received.WithLabelValues("invalid").Inc()
		m.Term()
		return
	}
	r, err := decode(f.cfg.Subject, m.Subject(), m.Data(), meta.Timestamp)
	if err != nil {
		f.m.received.WithLabelValues("invalid").Inc()
		f.log.Debug("fleet: report dropped", "subject", m.Subject(), "err", err)
		m.Term()
		return
	}
	if f.count(ctx, r, true) {
		m.Ack()
	}
}

// count feeds one report to the table and delivers its decision; false
// means Run is stopping and the decision was not delivered. tally says
// whether the report counts in the reporter's status (a replayed one was
// counted by the process before).
func (f *Fleet) count(ctx context.Context, r received, tally bool) bool {
	f.mu.Lock()
	rs := f.reporters[r.Reporter]
	if rs == nil {
		rs = &ReporterStatus{Reporter: r.Reporter}
		f.reporters[r.Reporter] = rs
	}
	if tally {
		rs.Reports++
	}
	if r.At.After(rs.Last) {
		rs.Last = r.At
	}
	dropped := f.table.dropped
	d, ok := f.table.observe(r, f.opts.Now())
	result := "counted"
	switch {
	case f.table.dropped > dropped:
		result = "dropped"
	default:
		if _, ok := f.opts.Policies[r.Jail]; !ok {
			result = "ignored"
		}
	}
	f.mu.Unlock()
	f.m.received.WithLabelValues(result).Inc()
	return !ok || f.deliver(ctx, d)
}
