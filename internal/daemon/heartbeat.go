package daemon

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/heartbeat"
)

// beat runs the dead-man switch of the configuration's heartbeat: section
// while Serve runs; a reload that changes the section restarts it.
type beat struct {
	mu      sync.Mutex
	serving bool
	cfg     *config.Heartbeat // of the running pinger
	p       *heartbeat.Pinger
	m       *heartbeat.Metrics // registered at the first start
}

// healthLimit bounds how long the counting side may take to answer the
// heartbeat's probe (the watchdog's own limit is half its period).
const healthLimit = 5 * time.Second

// startHeartbeat starts pinging if the running configuration asks for it;
// stop ends it, and no reload starts it again.
func (d *Daemon) startHeartbeat() (stop func()) {
	d.hb.mu.Lock()
	d.hb.serving = true
	d.hb.mu.Unlock()
	if g := d.current(); g != nil {
		d.retuneHeartbeat(g.cfg)
	}
	return func() {
		d.hb.mu.Lock()
		defer d.hb.mu.Unlock()
		d.hb.serving = false
		if d.hb.p != nil {
			d.hb.p.Stop()
			d.hb.p, d.hb.cfg = nil, nil
		}
	}
}

// retuneHeartbeat makes the pinger follow cfg: started, stopped or
// restarted with new settings; unchanged settings keep it running.
func (d *Daemon) retuneHeartbeat(cfg *config.Config) {
	d.hb.mu.Lock()
	defer d.hb.mu.Unlock()
	want := cfg.Heartbeat
	if !d.hb.serving || (want == nil && d.hb.cfg == nil) || (want != nil && d.hb.cfg != nil && *want == *d.hb.cfg) {
		return
	}
	if d.hb.p != nil {
		d.hb.p.Stop()
		d.hb.p, d.hb.cfg = nil, nil
		// Removed: no interval, so that the alert on a stale last
		// success does not fire for a heartbeat nobody configured.
		d.hb.m.Stopped()
	}
	if want == nil {
		return
	}
	if d.hb.m == nil {
		d.hb.m = heartbeat.NewMetrics(d.o.Registry)
	}
	hb := *want
	d.hb.cfg = &hb
	d.hb.p = heartbeat.Start(heartbeat.Options{
		URL: hb.URL, Interval: hb.Interval, Timeout: hb.Timeout, Method: hb.Method,
		Healthy: func() error { return d.health(healthLimit, hb.Quiet) },
		Logger:  d.log.With("component", "heartbeat"), Metrics: d.hb.m, UserAgent: "peerjail",
	})
	d.log.Info("heartbeat started", "url", hb.URL, "every", hb.Interval.String())
}

// health is the heartbeat's verdict: nil when the daemon counts (the
// watchdog's check), the firewall takes and holds every ban, and, when
// quiet is set, every jail has read a line within quiet.
func (d *Daemon) health(limit, quiet time.Duration) error {
	if !d.healthy(limit) {
		return errors.New("counting has stopped or does not answer")
	}
	var errs []error
	for _, op := range d.enf.failingOps() {
		errs = append(errs, fmt.Errorf("nftables %s is failing", op))
	}
	if late := d.enf.verifyLate(time.Now()); late > 0 {
		errs = append(errs, fmt.Errorf("nftables not verified for %s", late.Round(time.Second)))
	}
	g := d.current()
	if g == nil {
		return errors.New("no configuration is running")
	}
	now := d.o.Now()
	var last []time.Time
	g.eng.Do(func() {
		for _, lj := range g.jails {
			last = append(last, lj.lane.Counts.LastRead)
		}
	})
	for i, lj := range g.jails {
		if _, pending := d.enf.counts(lj.cfg.Name); pending > 0 {
			errs = append(errs, fmt.Errorf("jail %q: %d %s not enforced", lj.cfg.Name, pending, plural(pending, "ban", "bans")))
		}
		if quiet > 0 && now.Sub(last[i]) > quiet {
			errs = append(errs, fmt.Errorf("jail %q: no line read for %s (quiet: %s)", lj.cfg.Name,
				now.Sub(last[i]).Round(time.Second), quiet))
		}
	}
	return errors.Join(errs...)
}

// failingOps are the firewall operations failing now, sorted.
func (e *enforcer) failingOps() []string {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	var ops []string
	for op := range e.ops {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
