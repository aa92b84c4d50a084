// Package daemon runs peerjail as a service: live sources through the jails
// into the firewall, with state that survives restarts, a control socket and
// systemd integration.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// Options configure a daemon. Zero values mean the production defaults.
type Options struct {
	ConfigPath string
	StatePath  string // default /var/lib/peerjail/state.db
	SocketPath string // default /run/peerjail/peerjail.sock
	Logger     *slog.Logger
	// Registry receives the metrics; nil means none are exported.
	Registry prometheus.Registerer
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
}

// Daemon is a running peerjail.
type Daemon struct {
	o      Options
	log    *slog.Logger
	st     *store.Store
	kernel firewall.Firewall
	dry    firewall.Firewall
	enf    *enforcer
	m      *metrics
	ctl    *control.Server

	mu  sync.Mutex // guards gen
	gen *generation

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
	d := &Daemon{o: withDefaults(o)}
	d.log = d.o.Logger
	if err := d.setup(ctx); err != nil {
		return nil, errors.Join(err, d.Stop())
	}
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
		o.NewFirewall = func() (firewall.Firewall, error) { return firewall.NewNFTables(firewall.WithLogger(o.Logger)) }
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
// failure half-way (and Stop) undoes exactly what was done.
func (d *Daemon) setup(ctx context.Context) error {
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
	st, err := store.Open(d.o.StatePath, store.Options{Logger: d.log})
	if err != nil {
		return err
	}
	d.st = st
	d.teardown = append(d.teardown, st.Close)
	d.dry = firewall.NewDryRun(d.log.With("firewall", "dry-run"))
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
	d.enf = &enforcer{kernel: d.kernel, dryRun: d.dry, st: st, log: d.log, now: d.o.Now, m: d.m,
		actions: actions(cfg), positions: make(map[string]string), memo: memo}
	gen, err := d.startGeneration(ctx, cfg, nil)
	if err != nil {
		return err
	}
	d.gen = gen
	d.teardown = append(d.teardown, func() error { return d.stopGeneration(d.current()) })
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

// Serve runs until ctx is done, reloading on Options.Reload.
func (d *Daemon) Serve(ctx context.Context) error {
	ctlCtx, cancel := context.WithCancel(context.Background())
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- d.ctl.Serve(ctlCtx) }()
	stopWatchdog := startWatchdog(d.o.Notify, d.healthy)
	defer stopWatchdog()
	for {
		select {
		case <-ctx.Done():
			d.o.Notify("STOPPING=1")
			d.log.Info("stopping")
			cancel()
			return errors.Join(<-ctlDone, d.Stop())
		case <-d.o.Reload:
			if err := d.Reload(ctx); err != nil {
				d.log.Error("reload failed; the running configuration stays", "err", err)
			}
		}
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

func (d *Daemon) current() *generation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen
}

func needsKernel(cfg *config.Config) bool {
	for _, j := range cfg.Jails {
		if j.Action == "nftables" {
			return true
		}
	}
	return false
}

func actions(cfg *config.Config) map[string]string {
	m := make(map[string]string, len(cfg.Jails))
	for _, j := range cfg.Jails {
		m[j.Name] = j.Action
	}
	return m
}
