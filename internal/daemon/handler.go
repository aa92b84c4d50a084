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
func (d *Daemon) Status(_ context.Context, name string) ([]control.JailStatus, error) {
	g := d.current()
	now := d.o.Now()
	var out []control.JailStatus
	g.eng.Do(func() {
		for _, rj := range g.jails {
			if name != "" && rj.cfg.Name != name {
				continue
			}
			out = append(out, jailStatus(rj, now))
		}
	})
	if name != "" && len(out) == 0 {
		return nil, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	return out, nil
}

func jailStatus(rj *runJail, now time.Time) control.JailStatus {
	j := rj.pj.Jail
	st := j.Stats(now)
	p := rj.cfg.Policy
	js := control.JailStatus{
		Name: rj.cfg.Name, Filter: rj.cfg.FilterName, Action: rj.cfg.Action,
		Sources: rj.sources, Failing: st.Failing, TotalHits: st.TotalHits, TotalBanned: st.TotalBanned,
		FindTime: control.Duration(p.FindTime), MaxRetry: p.MaxRetry, BanTime: control.Duration(p.BanTime),
	}
	watching(&js, rj.live)
	for _, b := range j.Bans() {
		js.Banned = append(js.Banned, control.Banned{Host: b.Key.String(), Until: b.Until, Remaining: control.Duration(b.Until.Sub(now).Round(time.Second))})
	}
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

// Ban implements control.Handler.
func (d *Daemon) Ban(ctx context.Context, name, host string, dur time.Duration) (control.BanResult, error) {
	g := d.current()
	rj := g.find(name)
	if rj == nil {
		return control.BanResult{}, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	k, err := jail.ParseKey(host, rj.cfg.Policy.IPv6Prefix)
	if err != nil {
		return control.BanResult{}, invalid{err}
	}
	var dec jail.Decision
	g.eng.Do(func() {
		dec = rj.pj.Jail.Ban(k, d.o.Now(), dur)
		d.enf.queue(dec)
	})
	if err := d.enf.flush(ctx, true); err != nil {
		return control.BanResult{}, err
	}
	return control.BanResult{Jail: name, Host: dec.Key.String(), Until: dec.Until, Duration: control.Duration(dec.Duration)}, nil
}

// Unban implements control.Handler.
func (d *Daemon) Unban(ctx context.Context, name, host string, all bool) (int, error) {
	g := d.current()
	rj := g.find(name)
	if rj == nil {
		return 0, invalid{fmt.Errorf("%w %q", ErrNoJail, name)}
	}
	var decs []jail.Decision
	if all {
		g.eng.Do(func() { decs = rj.pj.Jail.UnbanAll(d.o.Now()) })
	} else {
		k, err := jail.ParseKey(host, rj.cfg.Policy.IPv6Prefix)
		if err != nil {
			return 0, invalid{err}
		}
		g.eng.Do(func() {
			if dec, ok := rj.pj.Jail.Unban(k, d.o.Now()); ok {
				decs = append(decs, dec)
			}
		})
		if len(decs) == 0 {
			return 0, invalid{fmt.Errorf("%s is not banned in jail %q", k, name)}
		}
	}
	for _, dec := range decs {
		d.enf.queue(dec)
	}
	return len(decs), d.enf.flush(ctx, true)
}

// Reload implements control.Handler: an invalid configuration leaves the
// running one in place and is returned with its file:line:column errors.
func (d *Daemon) Reload(ctx context.Context) error {
	d.o.Notify("RELOADING=1")
	defer d.o.Notify("READY=1")
	cfg, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil {
		d.m.reload(false)
		if errors.Is(err, config.ErrInvalid) {
			return invalid{err}
		}
		return err
	}
	if needsKernel(cfg) && d.kernel == nil {
		d.m.reload(false)
		return errors.New("reload: the new configuration uses nftables, which was not opened at start; restart peerjail")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.gen
	if err := d.stopGeneration(old); err != nil {
		d.log.Warn("saving positions before reload", "err", err)
	}
	d.enf.setActions(actions(cfg))
	gen, err := d.startGeneration(ctx, cfg, old)
	if err != nil {
		// The old configuration was running a moment ago: bring it back.
		d.enf.setActions(actions(old.cfg))
		back, berr := d.startGeneration(ctx, old.cfg, old)
		if berr != nil {
			d.m.reload(false)
			return errors.Join(fmt.Errorf("reload: %w", err), fmt.Errorf("restart the previous configuration: %w", berr))
		}
		d.gen = back
		d.m.reload(false)
		return fmt.Errorf("reload: %w (the previous configuration is running again)", err)
	}
	d.gen = gen
	d.m.reload(true)
	d.log.Info("configuration reloaded", "jails", len(gen.jails))
	return nil
}
