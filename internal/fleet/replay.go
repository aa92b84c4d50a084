package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// replayName is the consumer that rebuilds the quorum table on start.
func replayName(reporter string) string { return ConsumerName(reporter) + "-replay" }

// replay rebuilds, on start, the votes of the reports the durable consumer
// acknowledged before this process began: they are still in the window,
// and without them a quorum completed after a restart would be missed here
// while the other hosts ban. It reads the window's reports up to the
// durable's ack floor through a short-lived consumer and counts them as if
// live; a ban still standing is decided again, which the daemon applies
// as the ban it already holds.
func (f *Fleet) replay(ctx context.Context, s jetstream.Stream, durable jetstream.Consumer) error {
	info, err := durable.Info(ctx)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerName(f.reporter), err)
	}
	upto := info.AckFloor.Stream
	window := f.maxWindow()
	if upto == 0 || window == 0 {
		return nil
	}
	name := replayName(f.reporter)
	if err := s.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	start := f.opts.Now().Add(-window)
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Name:              name,
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &start,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     f.cfg.Subject + ".>",
		InactiveThreshold: time.Minute, // the server removes it if this host dies here
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", name, err)
	}
	defer s.DeleteConsumer(context.WithoutCancel(ctx), name)
	for n := 0; ; {
		batch, err := c.Fetch(publishBatch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			if meta.Sequence.Stream > upto {
				return nil // the durable delivers it and all after it
			}
			if r, err := decode(f.cfg.Subject, m.Subject(), m.Data(), meta.Timestamp); err == nil {
				n++
				if !f.count(ctx, r, false) {
					return ctx.Err()
				}
			}
			if meta.Sequence.Stream == upto || meta.NumPending == 0 {
				f.log.Info("fleet: counted the window's reports read before the restart", "reports", n, "upto", upto)
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("replay: %w", err)
		}
		if got == 0 {
			return nil // nothing in the window up to the ack floor
		}
	}
}

func (f *Fleet) maxWindow() time.Duration {
	var w time.Duration
	for _, p := range f.opts.Policies {
		w = max(w, p.Window)
	}
	return w
}
