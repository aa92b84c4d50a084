package daemon

import (
	"context"
	"fmt"
	"github.com/peerjail/peerjail/internal/correlate"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/pipeline"
	"github.com/peerjail/peerjail/internal/source"
)

// generation is the running form of one configuration: its jails, engine and
// the batchers that feed it from the readers. A reload builds the next
// generation completely while this one runs, then swaps (see Daemon.swap),
// carrying over the jails whose settings did not change, with their windows
// and bans, and the readers whose files or journal matches did not change.
type generation struct {
	cfg   *config.Config
	jails []*liveJail
	// acts are the jails' actions; started the queued ones build made
	// anew, which the swap reconciles with the store (or a failed build
	// closes).
	acts    map[string]*jailActions
	started []*actionRunner
	eng     *pipeline.Engine
	groups  []*sourceGroup

	quit  chan struct{}  // closed by stop: the batchers take no more lines
	live  atomic.Bool    // between start and stop
	wg    sync.WaitGroup // every goroutine start started
	ended chan struct{}  // closed once counting has stopped, whatever the cause

	// When counting started and when stop told the batchers to take no
	// more lines: BenchmarkReload's pause figure.
	startedAt, quitAt time.Time
}

// liveJail is one configured jail as the daemon runs it: its filter and
// counting in the generation's engine, and the sources that feed it.
type liveJail struct {
	cfg     config.Jail
	lane    *pipeline.Lane
	sources []string
	// prev is the replaced generation's jail of the same name: carried
	// (same filter and policy, so the same *jail.Counter goes on counting) or
	// not (its bans are taken over at the swap).
	prev    *liveJail
	carried bool
	live    source.Live // what it reads, for status
}

// sourceGroup is one reader and the jails that read it: jails with the same
// files or journal matches share a reader.
type sourceGroup struct {
	r     *reader
	src   *pipeline.Source
	jails []int
}

// build makes the generation for cfg while prev, if any, goes on running:
// everything that can fail (filters, date patterns, the firewall's sets,
// the store, opening sources) is done here, so that a failure leaves prev
// untouched. Nothing new reads lines until the swap.
func (d *Daemon) build(ctx context.Context, cfg *config.Config, prev *generation) (*generation, error) {
	g := &generation{cfg: cfg, quit: make(chan struct{}), ended: make(chan struct{})}
	fresh, err := d.buildJails(g, prev)
	if err != nil {
		return nil, err
	}
	if g.acts, g.started, err = d.buildActions(cfg); err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			_ = closeRunners(g.started)
		}
	}()
	// Decisions are applied on a context nobody cancels: ctx may be a
	// control request's (reload) or the one SIGTERM ends, and a batch
	// counted while stopping must still reach the kernel.
	flushCtx := context.WithoutCancel(ctx)
	if d.corr == nil || d.corr.Config() != cfg.Correlation.WithDefaults() {
		d.corr = correlate.New(cfg.Correlation)
	}
	g.eng = pipeline.New(lanes(g.jails), pipeline.Options{
		Now:         d.o.Now,
		Correlation: d.corr,
		SelfIDs:     cfg.SelfIDs,
		OnDecision:  d.enf.queue,
		AfterBatch: func(b *pipeline.Batch) {
			d.afterBatch(flushCtx, b)
			d.savePending(flushCtx, g, pendingSaveInterval)
			d.fleetHits(flushCtx, g)
		},
	})
	trackLocalHits(g)
	if g.groups, err = d.sourceGroups(g); err != nil {
		return nil, err
	}
	if d.kernel != nil {
		// prev's jails stay set up until the swap: prev may ban in a jail
		// the new configuration drops.
		if err := d.kernel.Setup(ctx, firewallJails(cfg, prev)); err != nil {
			return nil, fmt.Errorf("set up nftables: %w", err)
		}
	}
	if err := d.restore(ctx, g, fresh); err != nil {
		d.revertSetup(ctx, prev)
		return nil, err
	}
	for _, lj := range g.jails {
		if lj.prev != nil && !lj.carried {
			if err := d.restoreOffenders(lj); err != nil {
				d.revertSetup(ctx, prev)
				return nil, err
			}
		}
	}
	d.seedRecidive(g)
	built = true
	return g, nil
}

// revertSetup puts the firewall's jails back to prev's after a failed build,
// and an adoption of the kernel's elements back onto prev.
func (d *Daemon) revertSetup(ctx context.Context, prev *generation) {
	if prev == nil {
		return
	}
	d.enf.retarget(prev)
	if d.kernel == nil {
		return
	}
	if err := d.kernel.Setup(context.WithoutCancel(ctx), firewallJails(prev.cfg, nil)); err != nil {
		d.log.Warn("remove the failed configuration's jails from nftables", "err", err)
	}
}

// takeOver makes g continue where prev, now stopped, left off: the carried
// jails' counters and the bans of the jails whose policy changed. Nothing
// else uses either generation.
func (g *generation) takeOver() {
	for _, lj := range g.jails {
		switch {
		case lj.prev == nil:
		case lj.carried:
			lj.lane.Counts = lj.prev.lane.Counts
		default:
			for _, b := range lj.prev.lane.Counter.Bans() {
				lj.lane.Counter.Restore(b)
			}
		}
	}
}

// start runs g's batchers, the engine and the expiry ticker.
func (d *Daemon) start(g *generation) {
	g.startedAt = time.Now()
	g.live.Store(true)
	d.run(g)
}

// stop stops g and returns once every goroutine start started has ended.
// Every line a batcher took from a reader is counted first, so the lines a
// reader still holds are exactly those the next generation counts.
func (g *generation) stop() {
	if !g.live.Swap(false) {
		return
	}
	g.quitAt = time.Now()
	close(g.quit)
	g.wg.Wait()
}

// running reports whether g is counting.
func (g *generation) running() bool {
	select {
	case <-g.ended:
		return false
	default:
		return g.live.Load()
	}
}

// waitReady waits until the readers have positioned themselves, so that a
// line written once the daemon says it is ready is never skipped as "old".
func waitReady(readers []*reader, limit time.Duration, log *slog.Logger) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for _, r := range readers {
		s, ok := r.live.(source.Starter)
		if !ok {
			continue
		}
		select {
		case <-s.Ready():
		case <-r.ended:
		case <-deadline.C:
			log.Warn("source not ready in time; going on", "source", r.key)
			return
		}
	}
}

// buildJails makes the jails of g, reusing prev's when their filter and
// policy are unchanged. It returns the indexes of the jails no generation
// had, whose state comes from the store. This host's own addresses are not
// part of the policy compared: they are handed to every jail as they change
// (see selfWatch), so a new address resets no window.
func (d *Daemon) buildJails(g *generation, prev *generation) ([]int, error) {
	var fresh []int
	for _, jc := range g.cfg.Jails {
		old := prev.find(jc.Name)
		if old != nil && reflect.DeepEqual(old.cfg, jc) {
			g.jails = append(g.jails, &liveJail{cfg: jc, prev: old, carried: true,
				lane: old.lane.Carry(jc.DatePattern, jc.MaxClockSkew)})
			continue
		}
		lane, err := pipeline.NewLane(jc)
		if err != nil {
			return nil, err
		}
		d.self.hand(jc, lane.Counter)
		if old == nil {
			fresh = append(fresh, len(g.jails))
		}
		g.jails = append(g.jails, &liveJail{cfg: jc, lane: lane, prev: old})
	}
	return fresh, nil
}

func (g *generation) find(name string) *liveJail {
	if g == nil {
		return nil
	}
	for _, j := range g.jails {
		if j.cfg.Name == name {
			return j
		}
	}
	return nil
}

// adoptTarget is all the enforcer may do to a generation's jails when it
// adopts the kernel's elements: it never reaches the generation's engine or
// jails otherwise, and the lock order (engine, then enforcer) follows from
// hold running the enforcer's part inside the engine's lock.
type adoptTarget interface {
	// adopts reports whether the jail exists and bans in nftables. It
	// takes no lock: the enforcer calls it holding its own.
	adopts(jail string) bool
	// hold runs f between batches, with the engine held, so that no
	// decision is taken meanwhile. restore puts a ban into the named
	// jail's counting; false if there is no such jail.
	hold(f func(restore func(jail string, b jail.Ban) bool))
}

func (g *generation) adopts(name string) bool {
	lj := g.find(name)
	return lj != nil && g.acts[name].kernel
}

func (g *generation) hold(f func(restore func(jail string, b jail.Ban) bool)) {
	g.eng.Do(func() {
		f(func(name string, b jail.Ban) bool {
			lj := g.find(name)
			if lj == nil {
				return false
			}
			lj.lane.Counter.Restore(b)
			return true
		})
	})
}

func lanes(js []*liveJail) []*pipeline.Lane {
	out := make([]*pipeline.Lane, len(js))
	for i, j := range js {
		out[i] = j.lane
	}
	return out
}

// firewallJails are the nftables jails of cfg, and those of also that cfg
// does not have.
func firewallJails(cfg *config.Config, also *generation) []firewall.Jail {
	var out []firewall.Jail
	seen := map[string]bool{}
	add := func(j config.Jail) {
		if !j.Kernel() || seen[j.Name] {
			return
		}
		seen[j.Name] = true
		fj := firewall.Jail{Name: j.Name, Protocol: j.Protocol, IPv6Prefix: j.Policy.IPv6Prefix}
		for _, p := range j.Ports {
			fj.Ports = append(fj.Ports, firewall.PortRange{From: p.From, To: p.To})
		}
		out = append(out, fj)
	}
	for _, j := range cfg.Jails {
		add(j)
	}
	if also != nil {
		for _, j := range also.cfg.Jails {
			add(j)
		}
	}
	return out
}

// needsFields reports whether a filter tests journald fields besides the
// message, which makes reading each entry dearer.
func needsFields(s filter.Spec) bool {
	if s.JSON == nil {
		return false
	}
	for _, c := range s.JSON.Match {
		if strings.HasPrefix(c.Path, "journal.") {
			return true
		}
	}
	return false
}
