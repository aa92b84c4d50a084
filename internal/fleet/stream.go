package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamMaxAge is how long the stream keeps reports, which bounds a jail's
// window (config.MaxFleetWindow) and how far back a host catches up.
const streamMaxAge = 24 * time.Hour

func newJetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		return nil, fmt.Errorf("fleet: jetstream: %w", err)
	}
	return js, nil
}

// stream finds the fleet's stream, creating it when it does not exist. An
// existing stream is used as it is: the operator may have made it with
// other limits, and hosts must not fight over its config.
func (f *Fleet) stream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, f.cfg.Stream)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", f.cfg.Stream, err)
		}
		return s, nil
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        f.cfg.Stream,
		Description: "peerjail fleet reports",
		Subjects:    []string{f.cfg.Subject + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    f.cfg.Replicas,
		MaxAge:      streamMaxAge,
		MaxMsgSize:  maxMessage,
		Duplicates:  2 * time.Minute,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, f.cfg.Stream) // another host made it first
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", f.cfg.Stream, err)
	}
	f.log.Info("fleet: created stream", "stream", f.cfg.Stream, "replicas", f.cfg.Replicas)
	return s, nil
}

// publishLoop sends the outbox, oldest first, whenever a report is queued
// or a retry is due, and deletes what the stream acknowledged.
func (f *Fleet) publishLoop(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) {
	t := time.NewTicker(f.opts.Retry)
	defer t.Stop()
	for {
		for nc.IsConnected() && ctx.Err() == nil {
			sent, err := f.publishBatch(ctx, js)
			if err != nil {
				f.m.publishErrors.Inc()
				f.noteError(err)
				f.log.Debug("fleet: publish", "err", err)
				break
			}
			if sent == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-t.C:
		}
	}
}

const publishBatch = 256

// publishBatch publishes up to publishBatch queued reports at once and
// waits for their acknowledgements. The stream drops a copy of an ID it has
// seen, so a report whose ack was lost is not counted twice.
func (f *Fleet) publishBatch(ctx context.Context, js jetstream.JetStream) (int, error) {
	qs, err := f.opts.Outbox.Peek(publishBatch)
	if err != nil || len(qs) == 0 {
		return 0, err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(qs))
	for _, q := range qs {
		fu, err := js.PublishAsync(q.Subject, q.Data, jetstream.WithMsgID(q.ID), jetstream.WithExpectStream(f.cfg.Stream))
		if err != nil {
			break
		}
		futures = append(futures, fu)
	}
	var done []uint64
	var firstErr error
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
wait:
	for i, fu := range futures {
		select {
		case <-fu.Ok():
			done = append(done, qs[i].Seq)
		case err := <-fu.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s: %w", qs[i].Subject, err)
			}
		case <-deadline.C:
			firstErr = fmt.Errorf("publish %s: no acknowledgement in 5s", qs[i].Subject)
			break wait
		case <-ctx.Done():
			firstErr = ctx.Err()
			break wait
		}
	}
	if err := f.opts.Outbox.Delete(done); err != nil {
		return 0, err
	}
	f.m.published.Add(float64(len(done)))
	if firstErr == nil && len(futures) < len(qs) {
		firstErr = errors.New("publish: client refused more messages")
	}
	return len(done), firstErr
}
