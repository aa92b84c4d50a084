// Package daemon runs peerjail as a service: live sources through the jails
// into the firewall, with state that survives restarts, a control socket and
// systemd integration.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/peerjail/peerjail/internal/correlate"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/nftables"
	"github.com/peerjail/peerjail/internal/store"
)

// Options configure a daemon. Zero values mean the production defaults.
type Options struct {
	ConfigPath string
	StatePath  string // default /var/lib/peerjail/state.db
	SocketPath string // default /run/peerjail/peerjail.sock
	Logger     *slog.Logger
	// LogLevel, when set, is the level of Logger's handler, which the
	// log-level command changes at run time.
	LogLevel *slog.LevelVar
	// Registry receives the metrics; nil means none are exported.
	Registry prometheus.Registerer
	// MetricsAddr is where the metrics are served over HTTP ("" = not
	// served). Registry must then also be a prometheus.Gatherer.
	MetricsAddr string
	// Reload receives a value for every SIGHUP (only main touches signals).
	Reload <-chan struct{}
	// NewFirewall opens the kernel firewall; nil means nftables in this
	// network namespace. Tests pass one bound to their own namespace.
	NewFirewall func() (firewall.Firewall, error)
	// Notify sends systemd a state ("READY=1", ...); nil means sd_notify.
	Notify func(state string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Stdin feeds jails whose source is files: ["-"]; nil means os.Stdin.
	Stdin io.Reader
	// Constructors build the actions of the types this package does not
	// build itself (flow-admin, webhook, exec); a jail with an action of a
	// type missing here fails to start with ErrNotBuiltIn.
	Constructors map[config.ActionType]action.Constructor
	// Version is peerjail's version, handed to every action (action.Env)
	// and carried in the fleet's reports; "" when unknown.
	Version string
	// NetNS is an open network namespace (/proc/PID/ns/net) whose addresses
	// ignoreself follows; 0 means the daemon's own. Tests pass their own.
	NetNS int

	// watchSelf replaces the netlink address watch (tests).
	watchSelf func(ctx context.Context, update func([]netip.Prefix)) error
}

// Daemon is a running peerjail.
type Daemon struct {
	o      Options
	log    *slog.Logger
	st     *store.Store
	kernel firewall.Firewall
	enf    *enforcer
	m      *metrics
	ctl    *control.Server
	self   *selfWatch
	hb     beat     // the heartbeat: section's pinger (heartbeat.go)
	top    topCache // for peerjail_top_offender_hits (topoffenders.go)
	// corr is the identity → addresses table every generation's engine
	// learns into, so that a reload forgets no identity's addresses; a
	// reload that changes correlation_ttl or correlation_max starts anew.
	// Only build and the generation being built touch it.
	corr *correlate.Table
	// metricsAddr is where the metrics are served, once bound.
	metricsAddr net.Addr
	// runners are the queued actions of the running generation, changed
	// only by setup and swap (under genMu).
	runners       map[runnerID]*actionRunner
	actionMetrics *action.Metrics

	// reloading serialises reloads (SIGHUP and the control socket).
	reloading sync.Mutex
	// genMu guards gen. Commands hold it for reading while they use the
	// generation, so the swap, which holds it for writing, never stops a
	// generation under a command.
	genMu sync.RWMutex
	gen   *generation
	// readers are the running sources by key; changed under genMu.
	readers map[string]*reader
	// lost receives a value when the running generation stops counting by
	// itself; Serve then returns an error.
	lost chan struct{}

	fleet fleetState // fleet.go

	stopOnce sync.Once
	teardown []func() error
}

const (
	DefaultStatePath  = "/var/lib/peerjail/state.db"
	DefaultSocketPath = "/run/peerjail/peerjail.sock"
)

// Run starts the daemon and serves until ctx is done. It returns an error
// wrapping config.ErrInvalid when the configuration is invalid.
func Run(ctx context.Context, o Options) error {
	d, err := Start(ctx, o)
	if err != nil {
		return err
	}
	return d.Serve(ctx)
}

// Start sets everything up and returns once the firewall is in place, the
// kernel reconciled with the store and the sources running: READY has then
// been sent to systemd.
func Start(ctx context.Context, o Options) (*Daemon, error) {
	d := &Daemon{o: withDefaults(o), lost: make(chan struct{}, 1), readers: map[string]*reader{}}
	d.log = d.o.Logger
	if err := d.setup(ctx); err != nil {
		return nil, errors.Join(err, d.Stop())
	}
	d.m.reload(true)
	d.o.Notify("READY=1")
	d.log.Info("peerjail started", "config", d.o.ConfigPath, "jails", len(d.gen.jails))
	return d, nil
}

func withDefaults(o Options) Options {
	if o.StatePath == "" {
		o.StatePath = DefaultStatePath
	}
	if o.SocketPath == "" {
		o.SocketPath = DefaultSocketPath
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.NewFirewall == nil {
		log := o.Logger.With("firewall", "nftables")
		o.NewFirewall = func() (firewall.Firewall, error) { return nftables.New(nftables.WithLogger(log)) }
	}
	if o.Notify == nil {
		o.Notify = sdNotify
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	return o
}

// setup registers a teardown step for everything it opens, so that a
// failure half-way (and Stop) undoes exactly what was done. The instance
// lock comes first: a second daemon stops there, before it has touched the
// firewall, the store or the socket.
func (d *Daemon) setup(ctx context.Context) error {
	lock, err := lockInstance(d.o.StatePath, d.o.SocketPath)
	if err != nil {
		return err
	}
	d.teardown = append(d.teardown, lock.release)
	cfg, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil {
		return err
	}
	d.m = newMetrics(d.o.Registry)
	if d.o.Registry != nil {
		if err := d.o.Registry.Register(collector{d}); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	if err := d.serveMetrics(); err != nil {
		return err
	}
	st, err := store.Open(d.o.StatePath, store.Options{Logger: d.log})
	if err != nil {
		return err
	}
	d.st = st
	d.teardown = append(d.teardown, st.Close)
	d.actionMetrics = action.NewMetrics(d.o.Registry)
	var memo *setupMemo
	if needsKernel(cfg) {
		fw, err := d.o.NewFirewall()
		if err != nil {
			return fmt.Errorf("open nftables: %w", err)
		}
		memo = &setupMemo{Firewall: fw}
		d.kernel = memo
		// Bans stay in the kernel when peerjail stops: they carry their
		// own timeouts. Only the netlink connection is closed.
		d.teardown = append(d.teardown, fw.Close)
	}
	d.enf = &enforcer{kernel: d.kernel, st: st, log: d.log, now: d.o.Now, m: d.m,
		positions: make(map[string]string), memo: memo, report: d.fleetReport}
	// The queued actions stop after the last flush (stopGeneration, which
	// runs before this) has handed them its decisions, and before the store
	// closes: their outcomes are written to it.
	// The trail closes after the queued actions, whose answers it records.
	d.enf.audit = d.openAudit(cfg)
	d.teardown = append(d.teardown, func() error { return closeRunners(slices.Collect(maps.Values(d.runners))) })
	// Listings of the kernel's sets end before the firewall closes.
	d.teardown = append(d.teardown, func() error { d.enf.listing.Wait(); return nil })
	if err := d.watchSelf(ctx); err != nil {
		return err
	}
	gen, err := d.build(ctx, cfg, nil)
	if err != nil {
		return err
	}
	d.gen = gen
	d.enf.setActions(gen.acts)
	d.useRunners(gen.acts)
	if err := d.reconcile(gen.started); err != nil {
		return fmt.Errorf("hand the actions what the state says they hold: %w", err)
	}
	started := d.switchReaders(gen)
	d.start(gen)
	waitReady(started, 10*time.Second, d.log)
	fleetErr := d.startFleet(ctx, cfg, gen)
	d.teardown = append(d.teardown, d.stopGeneration)
	if fleetErr != nil {
		return fleetErr
	}
	d.enf.startVerifying(defaultVerify)
	d.teardown = append(d.teardown, d.enf.stopVerifying)
	ctl, err := control.Listen(d.o.SocketPath, d, d.log.With("component", "control"))
	if err != nil {
		return err
	}
	d.ctl = ctl
	// Serve closes it too; this covers a daemon stopped before serving.
	d.teardown = append(d.teardown, ctl.Close)
	return nil
}

// ErrNoGeneration is returned by Serve when the daemon has nothing counting
// any more (every source of the configuration ended): a daemon that reads
// nothing must not look alive, so it exits and systemd restarts it.
var ErrNoGeneration = errors.New("no configuration is running")

// Serve runs until ctx is done, reloading on Options.Reload. It returns an
// error wrapping ErrNoGeneration if the daemon stops counting by itself.
func (d *Daemon) Serve(ctx context.Context) error {
	ctlCtx, cancel := context.WithCancel(context.Background())
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- d.ctl.Serve(ctlCtx) }()
	stopWatchdog := startWatchdog(d.o.Notify, d.healthy)
	defer stopWatchdog()
	stopHeartbeat := d.startHeartbeat()
	stop := func(cause error) error {
		stopHeartbeat() // a stopping daemon goes silent
		d.o.Notify("STOPPING=1")
		d.log.Info("stopping")
		cancel()
		return errors.Join(cause, <-ctlDone, d.Stop())
	}
	for {
		select {
		case <-ctx.Done():
			return stop(nil)
		case <-d.lost:
			if !d.healthy(time.Second) {
				return stop(fmt.Errorf("%w: every source has ended", ErrNoGeneration))
			}
		case <-d.o.Reload:
			if err := d.Reload(ctx); err != nil {
				d.log.Error("reload failed; the running configuration stays", "err", err)
			}
		}
	}
}

// lostGen tells Serve that a generation stopped counting by itself.
func (d *Daemon) lostGen() {
	select {
	case d.lost <- struct{}{}:
	default:
	}
}

// Stop undoes setup in reverse order. It is safe to call twice.
func (d *Daemon) Stop() error {
	var errs []error
	d.stopOnce.Do(func() {
		for i := len(d.teardown) - 1; i >= 0; i-- {
			errs = append(errs, d.teardown[i]())
		}
	})
	return errors.Join(errs...)
}

// acquire returns the running generation, held until release: a reload
// waits for it before it stops the generation.
func (d *Daemon) acquire() (g *generation, release func()) {
	d.genMu.RLock()
	return d.gen, d.genMu.RUnlock
}

// current returns the running generation for a quick look that needs no
// hold (a generation's fields never change once it runs).
func (d *Daemon) current() *generation {
	d.genMu.RLock()
	defer d.genMu.RUnlock()
	return d.gen
}

// swap stops prev and starts g in its place. Every step that can fail was
// done by build; what is left cannot fail. prev has counted every line its
// batchers took before g takes any: a reader both use goes on running, and
// g counts exactly the lines it still holds, so no line is counted twice or
// skipped. A reader only g uses starts after prev's positions are saved; one
// only prev used stops. The carried jails never see two engines at once.
func (d *Daemon) swap(ctx context.Context, prev, g *generation) {
	d.genMu.Lock()
	prev.stop()
	d.snapshotPending(prev, 0)
	// prev's decisions and positions reach the kernel and the store first.
	if err := d.enf.flush(context.WithoutCancel(ctx), true); err != nil {
		d.log.Warn("saving state before the reload", "err", err)
	}
	g.takeOver()
	// The addresses may have changed while g was built.
	for _, lj := range g.jails {
		d.self.hand(lj.cfg, lj.lane.Counter)
	}
	d.enf.setActions(g.acts)
	d.useRunners(g.acts)
	if err := d.reconcile(g.started); err != nil {
		d.log.Warn("hand the new actions what the state says they hold", "err", err)
	}
	d.enf.retarget(g)
	d.gen = g
	started := d.switchReaders(g)
	d.start(g)
	d.genMu.Unlock()
	waitReady(started, 10*time.Second, d.log)
	if d.kernel != nil && len(firewallJails(g.cfg, prev)) > len(firewallJails(g.cfg, nil)) {
		// The sets of the jails g dropped go now; until the swap prev could
		// still ban in them.
		if err := d.kernel.Setup(context.WithoutCancel(ctx), firewallJails(g.cfg, nil)); err != nil {
			d.log.Warn("remove the sets of jails no longer configured from nftables", "err", err)
		}
	}
}

// stopGeneration stops the running generation and saves what it reached.
func (d *Daemon) stopGeneration() error {
	d.genMu.Lock()
	defer d.genMu.Unlock()
	if d.gen == nil {
		return nil
	}
	d.gen.stop()
	d.snapshotPending(d.gen, 0)
	err := d.enf.flush(context.Background(), true)
	d.stopReaders()
	return err
}

func needsKernel(cfg *config.Config) bool {
	for _, j := range cfg.Jails {
		if j.Kernel() {
			return true
		}
	}
	return false
}
