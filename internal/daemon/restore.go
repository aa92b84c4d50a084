package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// adoptWait is how long start-up waits for the kernel's listing before
// leaving the adoption to the background. A few thousand elements are
// listed well within it; beyond adoptNoWait bans, READY does not wait at
// all, since the listing would not be done in time anyway (100,000 bans
// take a second, see restore).
const (
	adoptWait   = 50 * time.Millisecond
	adoptNoWait = 20000
)

// restore brings the fresh jails of g up to date with the store and the
// kernel, which may disagree after a crash or a reboot:
//   - a ban in the store that has not ended is put back into the jail, and
//     into the kernel with its remaining time: all of them in one
//     transaction, whether the kernel still holds them or not, because
//     finding out means listing the sets, and re-adding a host key the
//     kernel holds costs nothing (100,000 bans list in about 0.3 s, put back
//     in about 0.4 s). When Start returns
//     (READY), every such ban is in force;
//   - a ban in the store that has ended is dropped;
//   - an element in the kernel that the store does not know (the daemon died
//     between the two writes, or an operator added it) is adopted with the
//     timeout the kernel has left. That needs the listing. If it is not done
//     adoptWait after the bans are back, READY does not wait for it: the
//     elements are adopted in the background once it is (see adoption), and
//     until then `peerjail status` does not show them, though the kernel
//     goes on enforcing them.
//
// Offender history is restored so that bantime increments go on growing.
func (d *Daemon) restore(ctx context.Context, g *generation, fresh []int) error {
	if len(fresh) == 0 {
		return nil
	}
	names := make([]string, len(fresh))
	for i, f := range fresh {
		names[i] = g.jails[f].cfg.Name
	}
	d.enf.forget(names...)
	now := d.o.Now()
	bans, err := d.readBans(now)
	if err != nil {
		return err
	}
	rp := d.planRestore(g, fresh, bans, now)
	// The kernel's transaction and the jails' bookkeeping take about as
	// long for 100,000 bans, and share nothing: they run side by side.
	kernelDone := make(chan error, 1)
	go func() { kernelDone <- d.restoreKernel(ctx, rp.changes) }()
	known := rp.restoreJails()
	d.restorePending(g, fresh, now)
	for _, i := range fresh {
		if err == nil {
			err = d.restoreOffenders(g.jails[i])
		}
	}
	if kerr := <-kernelDone; kerr != nil || err != nil {
		return errors.Join(kerr, err)
	}
	rp.track(d.enf)
	d.log.Info("state restored", "bans", len(rp.keep), "in nftables", len(rp.changes), "expired", len(rp.batch.DeleteBans))
	if err := saved(d.st.Update(rp.batch)); err != nil {
		return err
	}
	if len(rp.adopting) == 0 {
		return nil
	}
	// Listed only now: a listing alongside the transaction slows it down
	// many times over, the kernel's set lock going back and forth.
	listed := d.listKernel(ctx)
	a := &adoption{target: g, jails: rp.adopting, known: known, touched: map[banID]struct{}{}}
	wait := adoptWait
	if len(rp.changes) > adoptNoWait {
		wait = 0
	}
	select {
	case l := <-listed:
		return saved(d.st.Update(store.Batch{PutBans: d.enf.adoptNow(a, l)}))
	case <-time.After(wait):
		d.log.Info("listing the kernel's sets takes long; adopting their unknown elements in the background")
		d.enf.await(a, listed)
		return nil
	}
}

// restorePlan is what the store's bans mean for the fresh jails.
type restorePlan struct {
	keep     []restored
	changes  []firewall.Change // the kernel's share of keep
	batch    store.Batch       // the ended bans, to delete
	adopting map[string]bool   // fresh jails that ban in nftables
}

type restored struct {
	counter *jail.Counter
	ban     jail.Ban
	kernel  string // the jail's name if the ban is in nftables, else ""
	acts    *jailActions
	addrs   []netip.Prefix // an identity's, from the store
}

func (d *Daemon) planRestore(g *generation, fresh []int, bans []store.Ban, now time.Time) *restorePlan {
	rp := &restorePlan{keep: make([]restored, 0, len(bans)), adopting: map[string]bool{}}
	for _, i := range fresh {
		lj := g.jails[i]
		name := lj.cfg.Name
		inKernel := d.kernel != nil && g.acts[name].kernel
		if inKernel {
			rp.adopting[name] = true
		}
		for _, b := range bans {
			if b.Jail != name {
				continue
			}
			// Stored keys are Key.String()s: parsed at /128 they come back
			// as they were, also an IPv6 /128 narrowed from its group.
			k, err := storedBan(b, 128)
			if err != nil {
				d.log.Warn("dropping an invalid ban from the state", "jail", name, "host", b.Key, "err", err)
			}
			if err != nil || !b.Until.After(now) {
				rp.batch.DeleteBans = append(rp.batch.DeleteBans, store.BanKey{Jail: b.Jail, Key: b.Key})
				continue
			}
			r := restored{counter: lj.lane.Counter, ban: jail.Ban{Key: k, At: b.At, Until: b.Until, Offences: b.Offences, EscalatedFrom: b.EscalatedFrom},
				acts: g.acts[name], addrs: parsePrefixes(b.Addrs)}
			if inKernel {
				ps := action.Prefixes(jail.Decision{Key: k, Addrs: r.addrs})
				if len(ps) > 0 {
					r.kernel = name
				}
				for _, p := range ps {
					rp.changes = append(rp.changes, firewall.Change{Jail: name, Prefix: p, Add: true, Timeout: b.Until.Sub(now)})
				}
			}
			rp.keep = append(rp.keep, r)
		}
	}
	return rp
}

// restoreJails puts the bans back into the jails and returns the kernel's
// ones, which adoption must leave alone.
func (rp *restorePlan) restoreJails() map[banID]struct{} {
	known := make(map[banID]struct{}, len(rp.changes))
	for _, r := range rp.keep {
		r.counter.Restore(r.ban)
		if r.kernel != "" {
			for _, p := range action.Prefixes(jail.Decision{Key: r.ban.Key, Addrs: r.addrs}) {
				known[banID{r.kernel, p}] = struct{}{}
			}
		}
	}
	return known
}

// track tells the enforcer that the restored bans are in force: the
// kernel's ones went into it in one transaction that succeeded.
func (rp *restorePlan) track(e *enforcer) {
	byJail := map[string][]jail.Ban{}
	acts := map[string]*jailActions{}
	addrs := map[string]map[jail.Key][]netip.Prefix{}
	for _, r := range rp.keep {
		name := r.counter.Name()
		byJail[name] = append(byJail[name], r.ban)
		acts[name] = r.acts
		if len(r.addrs) > 0 {
			if addrs[name] == nil {
				addrs[name] = map[jail.Key][]netip.Prefix{}
			}
			addrs[name][r.ban.Key] = r.addrs
		}
	}
	for name, bans := range byJail {
		e.track(acts[name], name, bans, addrs[name])
	}
}

func (d *Daemon) restoreKernel(ctx context.Context, changes []firewall.Change) error {
	if len(changes) == 0 {
		return nil
	}
	if err := d.kernel.Restore(ctx, changes); err != nil {
		return fmt.Errorf("restore %d bans into nftables: %w", len(changes), err)
	}
	return nil
}

func (d *Daemon) restoreOffenders(lj *liveJail) error {
	offenders, err := d.st.Offenders(lj.cfg.Name)
	if err != nil {
		return err
	}
	for _, o := range offenders {
		if k, err := jail.ParseKey(o.Key, 128); err == nil {
			lj.lane.Counter.SetOffences(k, o.Offences)
		}
	}
	return nil
}

// listing is the kernel's elements as a List found them, and the daemon's
// clock once it had.
type listing struct {
	els []firewall.Element
	at  time.Time
	err error
}

// listKernel lists the kernel's sets on a goroutine of its own. The listing
// outlives a cancelled ctx: a reload's request may end before it does.
func (d *Daemon) listKernel(ctx context.Context) <-chan listing {
	ch := make(chan listing, 1)
	ctx = context.WithoutCancel(ctx)
	d.enf.listing.Go(func() {
		els, err := d.kernel.List(ctx)
		ch <- listing{els: els, at: d.o.Now(), err: err}
	})
	return ch
}

// banID names a ban in the kernel.
type banID struct {
	jail   string
	prefix netip.Prefix
}

// adoption takes the kernel's elements that the daemon knows nothing of into
// the jails. Run in the background, it must not take an element that the
// daemon changed meanwhile: an element the store had at start (known), or
// one a decision touched since, is left alone, whatever the listing says.
type adoption struct {
	target  adoptTarget
	jails   map[string]bool // the jails whose elements are adopted
	known   map[banID]struct{}
	touched map[banID]struct{}
	listed  *listing // the listing, once it is there
	waiting int      // listings still running
	taken   bool     // being applied
}

// apply adopts the listed elements: restore puts each into its jail (the
// caller holds the jails, see adoptTarget.hold), track tells the enforcer
// that it is in force.
func (a *adoption) apply(l listing, log *slog.Logger, restore func(jail string, b jail.Ban) bool, track func(jail string, b jail.Ban)) []store.Ban {
	var puts []store.Ban
	for _, el := range l.els {
		id := banID{el.Jail, el.Prefix}
		if !a.jails[el.Jail] {
			continue
		}
		if _, ok := a.known[id]; ok {
			continue
		}
		if _, ok := a.touched[id]; ok {
			continue
		}
		k := jail.Key{Prefix: el.Prefix}
		until := l.at.Add(el.Remaining)
		b := jail.Ban{Key: k, At: l.at, Until: until, Offences: 1}
		if !restore(el.Jail, b) {
			continue
		}
		track(el.Jail, b)
		puts = append(puts, store.Ban{Jail: el.Jail, Key: k.String(), At: l.at, Until: until, Offences: 1})
		log.Info("adopted a ban found in the kernel", "jail", el.Jail, "host", k.String(), "remaining", el.Remaining.Round(time.Second))
	}
	return puts
}
