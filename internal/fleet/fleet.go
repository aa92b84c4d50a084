// Package fleet shares a host's bans with the other hosts of a fleet over
// NATS JetStream and decides fleet bans when a quorum of distinct reporters
// agrees.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/config"
)

// Options are what the daemon provides besides the config.
type Options struct {
	Logger *slog.Logger
	// Outbox keeps reports until they are acknowledged; a BoltOutbox in the
	// daemon's store survives restarts.
	Outbox Outbox
	// Policies are the jails' fleet: policies by jail name; reports of
	// other jails are acknowledged and ignored.
	Policies map[string]config.FleetPolicy
	// Protected reports keys the fleet must never ban in a jail: the jail's
	// ignoreip, the host's own addresses and self_ids. Local rules win.
	Protected func(jail, key string) bool
	// Registerer takes the fleet's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	// Version is peerjail's, carried in each report.
	Version string
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// MaxKeys bounds the keys the quorum table tracks (1,000,000 by
	// default); reports of new keys past it are dropped and counted.
	MaxKeys int
	// ReconnectWait is the pause between connection attempts (1s by
	// default); Retry the pause after a failed publish or stream set-up.
	ReconnectWait, Retry time.Duration
	// NATS are extra connection options, after those of the config.
	NATS []nats.Option
}

// Fleet is one host's member of the fleet: a publisher of its own reports
// and a durable consumer of everyone's.
type Fleet struct {
	cfg      config.Fleet
	opts     Options
	reporter string
	log      *slog.Logger
	m        *metrics
	wake     chan struct{} // a report was queued
	out      chan Decision
	replayed bool // by the consumer goroutine, once

	mu        sync.Mutex // guards what follows
	table     *table
	reporters map[string]*ReporterStatus
	url       string // connected server, "" while away
	lastErr   string
	cons      consumerInfo // set while the consumer runs
}

// ErrConfig marks a fleet section New cannot work with.
var ErrConfig = errors.New("fleet config")

// New prepares the fleet; Run connects it. The reporter is the config's, or
// the host's short name.
func New(cfg config.Fleet, o Options) (*Fleet, error) {
	if o.Outbox == nil {
		return nil, fmt.Errorf("%w: no outbox", ErrConfig)
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("%w: no servers", ErrConfig)
	}
	reporter := cfg.Reporter
	if reporter == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("%w: no reporter set and no host name: %v", ErrConfig, err)
		}
		reporter, _, _ = strings.Cut(host, ".")
	}
	if reporter == "" || strings.ContainsAny(reporter, ".*> \t") {
		return nil, fmt.Errorf("%w: reporter %q is not a subject token; set fleet.reporter to this host's NATS user", ErrConfig, reporter)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 1_000_000
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = time.Second
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	f := &Fleet{
		cfg: cfg, opts: o, reporter: reporter,
		log:       o.Logger.With("reporter", reporter),
		wake:      make(chan struct{}, 1),
		out:       make(chan Decision, 1024),
		table:     newTable(o.Policies, o.Protected, o.MaxKeys),
		reporters: map[string]*ReporterStatus{},
	}
	f.m = newMetrics(o.Registerer, func() float64 { return float64(o.Outbox.Len()) })
	return f, nil
}

// Reporter is the subject token this host publishes under.
func (f *Fleet) Reporter() string { return f.reporter }

// Decisions delivers fleet bans and unbans. Run stops delivering when it
// returns; the daemon reads until then, or the consumer waits (and the
// stream keeps the reports).
func (f *Fleet) Decisions() <-chan Decision { return f.out }

// Publish queues local decisions of shared jails for the stream, in one
// write of the outbox (one fsync for a burst of bans); it does not wait for
// the network. Reports of jails not in publish: are ignored, and one that
// cannot be encoded is returned as an error without holding back the rest.
func (f *Fleet) Publish(rs ...Report) error {
	var errs []error
	envs := make([]Envelope, 0, len(rs))
	for _, r := range rs {
		if !slices.Contains(f.cfg.Publish, r.Jail) {
			continue
		}
		data, err := encode(r, f.reporter, f.opts.Version)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		id := make([]byte, 12)
		rand.Read(id)
		envs = append(envs, Envelope{ID: f.reporter + "-" + hex.EncodeToString(id), Subject: f.subject(r.Jail), Data: data})
	}
	if len(envs) == 0 {
		return errors.Join(errs...)
	}
	dropped, err := f.opts.Outbox.Put(envs...)
	f.m.dropped.Add(float64(dropped))
	if err != nil {
		f.m.dropped.Add(float64(len(envs)))
		errs = append(errs, fmt.Errorf("fleet: %w", err))
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return errors.Join(errs...)
}

func (f *Fleet) subject(jail string) string {
	return f.cfg.Subject + "." + f.reporter + "." + jail
}

// LocalHit notes a hit of key in jail; a need_local_hit jail's fleet ban
// waits for one, and LocalHit returns that ban when this hit completes it.
// Jails without need_local_hit cost a map look-up.
func (f *Fleet) LocalHit(jail, key string) (Decision, bool) {
	f.mu.Lock()
	d, ok := f.table.hit(jail, key, f.opts.Now())
	f.mu.Unlock()
	if ok {
		f.m.decisions.WithLabelValues(d.Jail, string(d.Action)).Inc()
	}
	return d, ok
}

// Run connects to the fleet and publishes and consumes until ctx ends. A
// fleet that cannot be reached is retried for ever; Run returns an error
// only for options the NATS client refuses.
func (f *Fleet) Run(ctx context.Context) error {
	opts, err := f.natsOptions()
	if err != nil {
		return err
	}
	nc, err := nats.Connect(serverList(f.cfg), opts...)
	if err != nil {
		return fmt.Errorf("fleet: connect to %s: %w", serverList(f.cfg), err)
	}
	defer nc.Close()
	js, err := newJetStream(nc)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { f.publishLoop(ctx, nc, js) })
	wg.Go(func() { f.consumeLoop(ctx, js) })
	wg.Go(func() { f.sweepLoop(ctx) })
	wg.Wait()
	return nil
}

func (f *Fleet) sweepLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		ds := f.table.sweep(f.opts.Now())
		f.mu.Unlock()
		for _, d := range ds {
			f.deliver(ctx, d)
		}
	}
}

// deliver hands d to the daemon, waiting while it is busy.
func (f *Fleet) deliver(ctx context.Context, d Decision) bool {
	select {
	case f.out <- d:
		f.m.decisions.WithLabelValues(d.Jail, string(d.Action)).Inc()
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *Fleet) setConnected(nc *nats.Conn, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if nc != nil {
		f.url = nc.ConnectedUrlRedacted()
		f.m.connected.Set(1)
		f.log.Info("fleet: connected", "server", f.url)
		return
	}
	if f.url != "" {
		f.log.Warn("fleet: disconnected; bans go on locally, reports are queued", "server", f.url, "err", err)
	}
	f.url = ""
	f.m.connected.Set(0)
	if err != nil {
		f.lastErr = err.Error()
	}
}

func (f *Fleet) noteError(err error) {
	f.mu.Lock()
	f.lastErr = err.Error()
	f.mu.Unlock()
}
