package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/source"
)

// ErrNoJail is returned for a command that names no configured jail.
var ErrNoJail = errors.New("no such jail")

// invalid marks err as the operator's mistake for the control protocol
// (control.ErrInvalid), keeping its text.
type invalid struct{ error }

func (e invalid) Unwrap() error        { return e.error }
func (e invalid) Is(target error) bool { return target == control.ErrInvalid }

// The control socket's commands; they run on the counting side (Engine.Do),
// so they see and change the jails consistently with the lines.

// Status implements control.Handler.
func (d *Daemon) Status(ctx context.Context, name string) ([]control.JailStatus, error) {
	return d.StatusTop(ctx, name, 0)
}

// StatusTop implements control.TopHandler: the top hosts cost a walk of
// the jail's failing hosts, so only one named jail lists them.
func (d *Daemon) StatusTop(_ context.Context, name string, top int) ([]control.JailStatus, error) {
	g, release := d.acquire()
	defer release()
	now := d.o.Now()
	var out []control.JailStatus
	g.eng.Do(func() {
		for _, lj := range g.jails {
			if name != "" && lj.cfg.Name != name {
				continue
			}
			js := jailStatus(lj, g.acts[lj.cfg.Name], now, d.enf)
			if name != "" && top > 0 {
				js.FailingHosts = failingHosts(lj, now, top)
			}
			out = append(out, js)
		}
	})
	if name != "" && len(out) == 0 {
		return nil, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	d.fleetStatus(out)
	return out, nil
}

func jailStatus(lj *liveJail, ja *jailActions, now time.Time, enf *enforcer) control.JailStatus {
	j := lj.lane.Counter
	st := j.Stats(now)
	p := lj.cfg.Policy
	js := control.JailStatus{
		Name: lj.cfg.Name, Filter: lj.cfg.FilterName, Action: ja.names,
		Sources: lj.sources, Failing: st.Failing, TotalHits: st.TotalHits, TotalBanned: st.TotalBanned,
		FindTime: control.Duration(p.FindTime), MaxRetry: p.MaxRetry, BanTime: control.Duration(p.BanTime),
	}
	watching(&js, lj.live)
	bans := j.Bans()
	keys := make([]jail.Key, len(bans))
	for i, b := range bans {
		keys[i] = b.Key
		js.Banned = append(js.Banned, control.Banned{Host: b.Key.String(), Until: b.Until, Remaining: control.Duration(b.Until.Sub(now).Round(time.Second)),
			EscalatedFrom: b.EscalatedFrom})
	}
	enf.enforcement(lj.cfg.Name, js.Banned, keys)
	js.Actions = enf.actionStatus(lj.cfg.Name, ja, len(bans))
	return js
}

// watching fills in what a jail's source reads now: the files it follows,
// or the journal matches.
func watching(js *control.JailStatus, live source.Live) {
	w, ok := live.(source.Watcher)
	if !ok {
		return
	}
	if _, journal := live.(*source.Journal); journal {
		js.Journal = w.Watching()
		return
	}
	js.Files = w.Watching()
}

// Ban implements control.Handler. The host is read as the jail's filter
// reads a log's, and checked before anything is decided, so that a ban the
// firewall would refuse is never saved or shown.
func (d *Daemon) Ban(ctx context.Context, name, host string, dur time.Duration, force bool) (control.BanResult, error) {
	if dur < 0 {
		return control.BanResult{}, invalid{fmt.Errorf("ban for %s: the length must be positive", dur)}
	}
	g, release := d.acquire()
	defer release()
	lj := g.find(name)
	if lj == nil {
		return control.BanResult{}, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	k, err := manualKey(lj, host)
	if err != nil {
		return control.BanResult{}, err
	}
	if err := d.checkBan(ctx, g, lj, k, force); err != nil {
		return control.BanResult{}, err
	}
	var dec jail.Decision
	g.eng.Do(func() {
		dec = lj.lane.Counter.Ban(k, d.o.Now(), dur)
		d.enf.audit.manual(ctx, dec)
		d.enf.queue(dec)
		g.eng.CountBan(lj.lane, dec)
	})
	if err := d.enf.flush(ctx, true); err != nil {
		return control.BanResult{}, err
	}
	return control.BanResult{Jail: name, Host: dec.Key.String(), Until: dec.Until, Duration: control.Duration(dec.Duration)}, nil
}

// Unban implements control.Handler. It reads the host as Ban does; a key
// shown by status that no longer reads so (a ban made before hosts were
// checked) is still lifted by its exact text.
func (d *Daemon) Unban(ctx context.Context, name, host string, all bool) (int, error) {
	if name == "" {
		return d.unbanEvery(ctx, host, all)
	}
	g, release := d.acquire()
	defer release()
	lj := g.find(name)
	if lj == nil {
		return 0, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	var decs []jail.Decision
	if all {
		g.eng.Do(func() { decs = lj.lane.Counter.UnbanAll(d.o.Now()) })
	} else {
		k, err := d.unbanKey(g, lj, host)
		if err != nil {
			return 0, err
		}
		g.eng.Do(func() {
			if dec, ok := lj.lane.Counter.Unban(k, d.o.Now()); ok {
				decs = append(decs, dec)
			}
		})
		if len(decs) == 0 {
			return 0, invalid{fmt.Errorf("%s is not banned in jail %q", k, name)}
		}
	}
	d.enf.audit.manual(ctx, decs...)
	for _, dec := range decs {
		d.enf.queue(dec)
	}
	return len(decs), d.enf.flush(ctx, true)
}

func (d *Daemon) unbanKey(g *generation, lj *liveJail, host string) (jail.Key, error) {
	k, err := manualKey(lj, host)
	if err == nil {
		return k, nil
	}
	var found jail.Key
	g.eng.Do(func() {
		for _, b := range lj.lane.Counter.Bans() {
			if b.Key.String() == host {
				found = b.Key
			}
		}
	})
	if found.IsValid() {
		return found, nil
	}
	return jail.Key{}, err
}

// Reload implements control.Handler: the new configuration is built beside
// the running one and swapped in only once built. An invalid configuration,
// or one whose jails, firewall sets or sources cannot be set up, leaves the
// running one untouched and is returned (bad configuration with its
// file:line:column errors).
func (d *Daemon) Reload(ctx context.Context) error {
	d.reloading.Lock()
	defer d.reloading.Unlock()
	d.o.Notify("RELOADING=1")
	defer d.o.Notify("READY=1")
	err := d.reload(ctx)
	d.m.reload(err == nil)
	d.enf.audit.reloaded(ctx, d.o.ConfigPath, err, d.current())
	return err
}

func (d *Daemon) reload(ctx context.Context) error {
	cfg, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil {
		if errors.Is(err, config.ErrInvalid) {
			return invalid{err}
		}
		return err
	}
	if needsKernel(cfg) && d.kernel == nil {
		return errors.New("reload: the new configuration uses nftables, which was not opened at start; restart peerjail")
	}
	prev := d.current()
	if prev == nil || !prev.running() {
		return fmt.Errorf("reload: %w", ErrNoGeneration)
	}
	g, err := d.build(ctx, cfg, prev)
	if err != nil {
		return fmt.Errorf("reload: %w (the running configuration stays)", err)
	}
	d.swap(ctx, prev, g)
	d.retuneHeartbeat(cfg)
	d.reloadFleet(ctx, cfg, g)
	d.log.Info("configuration reloaded", "jails", len(g.jails))
	return nil
}
