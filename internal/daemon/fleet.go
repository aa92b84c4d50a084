package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/fleet"
	"github.com/peerjail/peerjail/internal/jail"
)

// sourceFleet marks a ban the fleet's quorum decided, in decisions, the
// store and status.
const sourceFleet = "fleet"

// fleetLink is one running member of the fleet: its Run, the goroutine that
// enforces its decisions and the one that publishes this host's. A reload
// that changes the fleet section or a jail's fleet policy replaces it.
type fleetLink struct {
	cfg      config.Fleet
	policies map[string]config.FleetPolicy
	f        *fleet.Fleet
	reg      *trackedRegisterer
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu    sync.Mutex // guards queue
	queue []fleet.Report
	wake  chan struct{}
}

// fleetState is the daemon's part of the fleet: the running link, and the
// fleet bans it enforces now, which outlive a link (a reload that drops the
// fleet keeps them until they end).
type fleetState struct {
	link   atomic.Pointer[fleetLink]
	outbox *fleet.BoltOutbox // opened with the first link, closed by Stop
	// target is the generation whose jails say what the fleet must not ban;
	// read by the fleet's consumer, which must not wait for genMu (a swap
	// holding it waits for batchers that may be waiting for the fleet).
	target atomic.Pointer[generation]

	mu    sync.Mutex // guards marks; taken last, after the engine or the enforcer
	marks map[fleetID][]string
}

// fleetID names a ban: its jail and its key as the key prints.
type fleetID struct{ jail, key string }

// OutboxPath is where the fleet's outbox is kept: a bbolt file beside the
// state file (the store's own file is its alone).
func OutboxPath(statePath string) string { return statePath + ".fleet-outbox" }

// startFleet starts the fleet of cfg, if any, once g runs, and registers its
// stop: the fleet stops after the last generation, whose final flush still
// publishes.
func (d *Daemon) startFleet(ctx context.Context, cfg *config.Config, g *generation) error {
	d.fleet.target.Store(g)
	if d.o.Registry != nil {
		if err := d.o.Registry.Register(fleetCollector{&d.fleet}); err != nil {
			return fmt.Errorf("register fleet metrics: %w", err)
		}
	}
	d.teardown = append(d.teardown, func() error {
		err := d.stopFleet()
		if d.fleet.outbox != nil {
			err = errors.Join(err, d.fleet.outbox.Close())
		}
		return err
	})
	if cfg.Fleet == nil {
		return nil
	}
	if err := d.loadFleetMarks(); err != nil {
		return err
	}
	return d.runFleet(ctx, cfg)
}

// loadFleetMarks reads back which stored bans the fleet decided.
func (d *Daemon) loadFleetMarks() error {
	bans, err := d.st.Bans()
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	d.fleet.mu.Lock()
	defer d.fleet.mu.Unlock()
	for _, b := range bans {
		if b.Source == sourceFleet {
			d.fleet.setLocked(fleetID{b.Jail, b.Key}, b.Reporters)
		}
	}
	return nil
}

func (s *fleetState) setLocked(id fleetID, reporters []string) {
	if s.marks == nil {
		s.marks = map[fleetID][]string{}
	}
	s.marks[id] = reporters
}

func (s *fleetState) mark(id fleetID, reporters []string) {
	s.mu.Lock()
	s.setLocked(id, reporters)
	s.mu.Unlock()
}

func (s *fleetState) unmark(id fleetID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.marks[id]
	delete(s.marks, id)
	return ok
}

func (s *fleetState) marked(id fleetID) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.marks[id]
	return r, ok
}

// reloadFleet keeps the running link when neither the section nor a
// policy changed, and replaces it otherwise.
func (d *Daemon) reloadFleet(ctx context.Context, cfg *config.Config, g *generation) {
	d.fleet.target.Store(g)
	l := d.fleet.link.Load()
	if l != nil && cfg.Fleet != nil && reflect.DeepEqual(l.cfg, *cfg.Fleet) && reflect.DeepEqual(l.policies, policiesOf(cfg)) {
		return
	}
	if err := d.stopFleet(); err != nil {
		d.log.Warn("fleet: stop", "err", err)
	}
	if cfg.Fleet == nil {
		return
	}
	if err := d.runFleet(ctx, cfg); err != nil {
		d.log.Error("fleet: not started; bans go on locally", "err", err)
	}
}

func policiesOf(cfg *config.Config) map[string]config.FleetPolicy {
	out := map[string]config.FleetPolicy{}
	for _, j := range cfg.Jails {
		if j.Fleet != nil {
			out[j.Name] = *j.Fleet
		}
	}
	return out
}

// runFleet starts a link for cfg's fleet section.
func (d *Daemon) runFleet(ctx context.Context, cfg *config.Config) error {
	if d.fleet.outbox == nil {
		o, err := fleet.OpenBoltOutbox(OutboxPath(d.o.StatePath), 0)
		if err != nil {
			return err
		}
		d.fleet.outbox = o
	}
	l := &fleetLink{cfg: *cfg.Fleet, policies: policiesOf(cfg), wake: make(chan struct{}, 1)}
	if d.o.Registry != nil {
		l.reg = &trackedRegisterer{reg: d.o.Registry}
	}
	f, err := fleet.New(l.cfg, fleet.Options{
		Logger: d.log.With("component", "fleet"), Outbox: d.fleet.outbox,
		Policies: l.policies, Protected: d.fleetProtected, Registerer: l.registerer(),
		Version: d.o.Version, Now: d.o.Now,
	})
	if err != nil {
		l.reg.unregister()
		return fmt.Errorf("fleet: %w", err)
	}
	l.f = f
	// The fleet runs on a context of its own: stopFleet ends it, after the
	// generation's last flush has published what it decided.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	l.wg.Go(func() {
		if err := f.Run(runCtx); err != nil {
			d.log.Error("fleet: stopped; bans go on locally", "err", err)
		}
	})
	l.wg.Go(func() { d.enforceFleet(runCtx, f) })
	l.wg.Go(func() { l.publishLoop(runCtx, d.log) })
	d.fleet.link.Store(l)
	d.log.Info("fleet started", "reporter", f.Reporter(), "servers", l.cfg.Servers, "publish", l.cfg.Publish)
	return nil
}

// stopFleet stops the running link and waits for its goroutines; its
// queued reports are in the outbox by then.
func (d *Daemon) stopFleet() error {
	l := d.fleet.link.Swap(nil)
	if l == nil {
		return nil
	}
	l.cancel()
	l.wg.Wait()
	l.reg.unregister()
	return nil
}

// maxFleetBatch bounds the decisions applied in one flush: a storm of
// quorums costs one netlink transaction and one fsync per batch, not per ban.
const maxFleetBatch = 1024

// enforceFleet applies the fleet's decisions until its Run returns, as many
// as are waiting at once. Each batch waits for the generation a reload may
// be swapping.
func (d *Daemon) enforceFleet(ctx context.Context, f *fleet.Fleet) {
	batch := make([]fleet.Decision, 0, maxFleetBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case dec := <-f.Decisions():
			batch = append(batch[:0], dec)
		}
	more:
		for len(batch) < maxFleetBatch {
			select {
			case dec := <-f.Decisions():
				batch = append(batch, dec)
			default:
				break more
			}
		}
		g, release := d.acquire()
		d.applyFleet(context.WithoutCancel(ctx), g, batch)
		release()
	}
}

// applyFleet enforces fleet decisions through the jails' actions, as a
// manual ban is: the counter, then the kernel, the store and the queued
// actions, all of them in one flush. A local ban of the key stands; a
// fleet unban lifts only a fleet ban; a decision delivered again (on
// restart) changes nothing.
func (d *Daemon) applyFleet(ctx context.Context, g *generation, decs []fleet.Decision) {
	queued := 0
	for _, dec := range decs {
		if d.queueFleet(ctx, g, dec) {
			queued++
		}
	}
	if queued == 0 {
		return
	}
	if err := d.enf.flush(ctx, true); err != nil {
		d.log.Error("fleet: apply", "decisions", queued, "err", err)
	}
}

// queueFleet turns one fleet decision into the jail's, queued for the next
// flush; false if it changes nothing here.
func (d *Daemon) queueFleet(ctx context.Context, g *generation, dec fleet.Decision) bool {
	lj := g.find(dec.Jail)
	if lj == nil {
		return false
	}
	k, err := jail.ParseKey(dec.Key, lj.cfg.Policy.IPv6Prefix)
	if err != nil {
		d.log.Warn("fleet: decision on a key this jail cannot read", "jail", dec.Jail, "host", dec.Key, "err", err)
		return false
	}
	if dec.Action == fleet.Ban && k.Prefix.IsValid() {
		if err := firewallAccepts(ctx, lj.cfg.Name, k.Prefix); err != nil {
			d.log.Warn("fleet: ban refused", "jail", dec.Jail, "host", dec.Key, "err", err)
			return false
		}
	}
	id := fleetID{dec.Jail, k.String()}
	now := d.o.Now()
	queued := false
	g.eng.Do(func() {
		c := lj.lane.Counter
		var out jail.Decision
		switch dec.Action {
		case fleet.Ban:
			if !dec.Until.After(now) {
				return
			}
			if _, ignored := c.Ignores(k); ignored {
				return
			}
			if b, ok := c.Banned(k); ok {
				if _, fleets := d.fleet.marked(id); !fleets || !dec.Until.After(b.Until) {
					return
				}
			}
			out = c.Ban(k, now, dec.Until.Sub(now))
		case fleet.Unban:
			if _, fleets := d.fleet.marked(id); !fleets {
				return
			}
			var ok bool
			if out, ok = c.Unban(k, now); !ok {
				d.fleet.unmark(id)
				return
			}
			d.fleet.unmark(id)
		default:
			return
		}
		out.Source, out.Reporters = sourceFleet, slices.Clone(dec.Reporters)
		if dec.Action == fleet.Ban {
			d.fleet.mark(id, out.Reporters)
		}
		d.enf.queue(out)
		queued = true
	})
	return queued
}

// fleetProtected tells the fleet which keys it must never ban: whatever
// the jail's counter refuses (ignoreip, this host's own addresses, and the
// special addresses), and any key of a jail this host does not run.
func (d *Daemon) fleetProtected(name, key string) bool {
	g := d.fleet.target.Load()
	lj := g.find(name)
	if lj == nil {
		return true
	}
	k, err := jail.ParseKey(key, lj.cfg.Policy.IPv6Prefix)
	if err != nil {
		return true
	}
	var ignored bool
	g.eng.Do(func() { _, ignored = lj.lane.Counter.Ignores(k) })
	return ignored
}

// fleetReport is the enforcer's hook after a flush: the local decisions of
// published jails go to the fleet, the fleet's own never (a host does not
// vote with what it was told), and the end of a fleet ban forgets its
// mark. It runs with the enforcer's lock held, so it only queues.
func (d *Daemon) fleetReport(decs []jail.Decision) {
	l := d.fleet.link.Load()
	var reports []fleet.Report
	for _, dec := range decs {
		if dec.Source == sourceFleet {
			// Marked again: a local unban of the key earlier in the same
			// flush (the ban's end) forgot the mark.
			if dec.Action == jail.ActionBan {
				d.fleet.mark(fleetID{dec.Jail, dec.Key.String()}, dec.Reporters)
			}
			continue
		}
		id := fleetID{dec.Jail, dec.Key.String()}
		// A local unban of a fleet ban (its end, or the operator's) is
		// not this host's report; a local ban over it now is.
		if d.fleet.unmark(id) && dec.Action == jail.ActionUnban {
			continue
		}
		if l == nil || !slices.Contains(l.cfg.Publish, dec.Jail) {
			continue
		}
		r := fleet.Report{Action: fleet.Ban, Jail: dec.Jail, Key: id.key, Until: dec.Until, Offences: dec.Offences, Evidence: dec.Evidence}
		if dec.Action == jail.ActionUnban {
			r.Action = fleet.Unban
		}
		reports = append(reports, r)
	}
	if len(reports) > 0 {
		l.enqueue(reports)
	}
}

// maxQueued bounds the reports waiting for the outbox; past it the newest
// are dropped, and the outbox's own bound drops the oldest.
const maxQueued = fleet.DefaultOutboxSize

func (l *fleetLink) enqueue(rs []fleet.Report) {
	l.mu.Lock()
	if n := maxQueued - len(l.queue); n < len(rs) {
		rs = rs[:max(n, 0)]
	}
	l.queue = append(l.queue, rs...)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// publishLoop hands queued reports to the fleet's outbox, one bbolt
// transaction for all those waiting, off the enforcer's path; at stop it
// hands over what is left.
func (l *fleetLink) publishLoop(ctx context.Context, log interface {
	Warn(msg string, args ...any)
}) {
	for {
		stopping := false
		select {
		case <-ctx.Done():
			stopping = true
		case <-l.wake:
		}
		l.mu.Lock()
		rs := l.queue
		l.queue = nil
		l.mu.Unlock()
		if err := l.f.Publish(rs...); err != nil {
			log.Warn("fleet: reports not queued", "reports", len(rs), "err", err)
		}
		if stopping {
			return
		}
	}
}

// FleetStatus implements control.FleetHandler.
func (d *Daemon) FleetStatus(ctx context.Context) (json.RawMessage, error) {
	l := d.fleet.link.Load()
	if l == nil {
		return nil, invalid{errors.New("no fleet: the configuration has no fleet: section")}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return json.Marshal(l.f.Status(ctx))
}

// fleetStatus marks the fleet's bans in a status, and the jails' part in
// the fleet. It runs outside the engine: the fleet's lock comes first.
func (d *Daemon) fleetStatus(out []control.JailStatus) {
	l := d.fleet.link.Load()
	connected := l != nil && l.f.Connected()
	for i := range out {
		js := &out[i]
		for j := range js.Banned {
			b := &js.Banned[j]
			if r, ok := d.fleet.marked(fleetID{js.Name, b.Host}); ok {
				b.Source, b.Reporters = sourceFleet, r
			}
		}
		if l == nil {
			continue
		}
		pol, takes := l.policies[js.Name]
		publish := slices.Contains(l.cfg.Publish, js.Name)
		if takes || publish {
			js.Fleet = &control.JailFleet{Publish: publish, Quorum: pol.Quorum, Connected: connected}
		}
	}
}

// trackLocalHits makes the lanes of need_local_hit jails count hits per
// key, which fleetHits hands to the fleet after each batch.
func trackLocalHits(g *generation) {
	for _, lj := range g.jails {
		if lj.cfg.Fleet != nil && lj.cfg.Fleet.NeedLocalHit && lj.lane.Hosts == nil {
			lj.lane.Hosts = map[jail.Key]int{}
		}
	}
}

// fleetHits hands the batch's hits in need_local_hit jails to the fleet and
// enforces the bans they complete. It runs on g's counting goroutine after
// a batch, with no lock held; it uses g itself, never acquire (a swap
// holding genMu waits for this goroutine).
func (d *Daemon) fleetHits(ctx context.Context, g *generation) {
	l := d.fleet.link.Load()
	if l == nil {
		return
	}
	type hit struct{ jail, key string }
	var hits []hit
	g.eng.Do(func() {
		for _, lj := range g.jails {
			for k := range lj.lane.Hosts {
				hits = append(hits, hit{lj.cfg.Name, k.String()})
			}
			clear(lj.lane.Hosts)
		}
	})
	var decs []fleet.Decision
	for _, h := range hits {
		if dec, ok := l.f.LocalHit(h.jail, h.key); ok {
			decs = append(decs, dec)
		}
	}
	d.applyFleet(ctx, g, decs)
}

// trackedRegisterer remembers what the fleet registers, so that a link
// replaced by a reload takes its metrics with it.
type trackedRegisterer struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
}

func (t *trackedRegisterer) Register(c prometheus.Collector) error {
	if err := t.reg.Register(c); err != nil {
		return err
	}
	t.mu.Lock()
	t.cs = append(t.cs, c)
	t.mu.Unlock()
	return nil
}

func (t *trackedRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *trackedRegisterer) Unregister(c prometheus.Collector) bool { return t.reg.Unregister(c) }

func (t *trackedRegisterer) unregister() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.cs {
		t.reg.Unregister(c)
	}
	t.cs = nil
}

func (l *fleetLink) registerer() prometheus.Registerer {
	if l.reg == nil {
		return nil
	}
	return l.reg
}

// fleetBans counts the fleet bans enforced now by jail, for
// peerjail_fleet_enforced_bans.
func (s *fleetState) fleetBans() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id := range s.marks {
		out[id.jail]++
	}
	return out
}

var descFleetBans = prometheus.NewDesc("peerjail_fleet_enforced_bans",
	"Bans in force now that the fleet's quorum decided (a subset of peerjail_banned), by jail.", []string{"jail"}, nil)

// fleetCollector exports the fleet bans held now; the fleet's own series
// (peerjail_fleet_connected and the rest) come with its link.
type fleetCollector struct{ s *fleetState }

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descFleetBans }

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range c.s.fleetBans() {
		ch <- prometheus.MustNewConstMetric(descFleetBans, prometheus.GaugeValue, float64(n), name)
	}
}
