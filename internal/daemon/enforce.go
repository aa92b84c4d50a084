package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// enforcer turns decisions into firewall changes and durable state. Decisions
// queue up while a batch is counted and are flushed after it as ONE firewall
// transaction and ONE store transaction: a burst of bans costs one netlink
// round trip and one fsync. The kernel is changed first, so that a crash
// between the two leaves a ban in the kernel (adopted on restart), never a
// ban in the store that was not enforced.
//
// Lock order: a generation's engine, then mu. The counting calls queue with
// the engine held, and the enforcer never takes an engine itself: it
// changes jails only through adoptTarget.hold, which runs the enforcer's
// part, and so takes mu, inside the engine's lock.
type enforcer struct {
	mu     sync.Mutex
	kernel firewall.Firewall       // nil when no jail uses nftables
	jails  map[string]*jailActions // by jail (actions.go)
	st     *store.Store
	log    *slog.Logger
	now    func() time.Time
	m      *metrics

	pending   []jail.Decision
	positions map[string]string
	windows   map[string][]store.PendingHost // a snapshot for the next flush (pending.go)
	snaps     snapshots
	lastSave  time.Time
	adopt     *adoption // waiting for its listing, or to be applied
	listing   sync.WaitGroup

	audit *trail // the audit trail (audit.go); nil when off

	view states     // what each ban's action holds (enforcement.go)
	memo *setupMemo // the kernel firewall, nil when no jail uses nftables

	loopMu sync.Mutex
	loop   *verifyLoop // the verification loop (verify.go)
	// verified is when the kernel was last compared with the bans (or the
	// loop started), period the loop's wait after it, in Unix and plain
	// nanoseconds: health reads them without a lock (verifyLate).
	verified, period atomic.Int64

	opsMu sync.Mutex
	ops   map[string]string // firewall operations failing now, by op: the last error

	untaken map[string]bool // jails told that none of their actions takes a decision

	report func([]jail.Decision) // the fleet's publisher (fleet.go), set once at setup
}

// opFailed counts a failed firewall operation and logs it when it starts
// failing; while it goes on failing (a retry every second), only at debug.
func (e *enforcer) opFailed(op string, err error, msg string, args ...any) {
	e.m.firewallErrors.WithLabelValues(op).Inc()
	e.opsMu.Lock()
	_, was := e.ops[op]
	if e.ops == nil {
		e.ops = map[string]string{}
	}
	e.ops[op] = err.Error()
	e.opsMu.Unlock()
	args = append(args, "err", err)
	if was {
		e.log.Debug(msg, args...)
		return
	}
	e.log.Error(msg, args...)
}

// opWorked logs msg when op worked after failing.
func (e *enforcer) opWorked(op, msg string) {
	e.opsMu.Lock()
	_, was := e.ops[op]
	delete(e.ops, op)
	e.opsMu.Unlock()
	if was {
		e.log.Info(msg)
	}
}

// failing is the last error of a firewall operation failing now, or "".
func (e *enforcer) failing(op string) string {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	return e.ops[op]
}

// queue records a decision; called with the engine's lock held.
func (e *enforcer) queue(d jail.Decision) {
	e.mu.Lock()
	e.pending = append(e.pending, d)
	if e.adopt != nil && d.Key.Prefix.IsValid() {
		e.adopt.touched[banID{d.Jail, d.Key.Prefix}] = struct{}{}
	}
	e.mu.Unlock()
}

// position records where a source has been read up to.
func (e *enforcer) position(source, pos string) {
	if pos == "" {
		return
	}
	e.mu.Lock()
	e.positions[source] = pos
	e.mu.Unlock()
}

// flush applies what is pending. Positions alone are saved at most once a
// second (force saves them now, at shutdown); with decisions they go in the
// same store transaction, so that a restart resumes after the lines that
// caused them.
func (e *enforcer) flush(ctx context.Context, force bool) error {
	if !force {
		e.adoptListed()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if len(e.pending) == 0 && e.windows == nil && e.st.Behind() == 0 && (len(e.positions) == 0 || (!force && now.Sub(e.lastSave) < time.Second)) {
		return nil
	}
	var kernel []firewall.Change
	var batch store.Batch
	for i := range e.pending {
		d := &e.pending[i]
		ja := e.jails[d.Jail]
		if ja != nil && ja.kernel && e.kernel != nil {
			kernel = append(kernel, e.kernelChangesLocked(d, now)...)
		}
		if !ja.takes(*d) {
			e.untakenLocked(*d)
		}
		addToBatch(&batch, *d, ja)
	}
	var err error
	if len(kernel) > 0 {
		start := time.Now()
		err = e.kernel.Apply(ctx, kernel)
		e.m.applySeconds.Observe(time.Since(start).Seconds())
		if err != nil && !errors.Is(err, firewall.ErrInvalidChange) {
			// Nothing is saved (neither the bans nor the positions past the
			// lines behind them): a ban in the store is one the kernel
			// enforces. The next flush, within a second, tries again with
			// the timeouts left by then; the verification loop sets the
			// table up again if it is gone. Logged once until it works.
			e.applied(e.pending, err, false)
			e.opFailed("apply", err, "apply bans to nftables failed; retrying every second", "changes", len(kernel))
			if !force {
				return nil // logged above; a command (force) gets the error
			}
			return err
		}
		if err != nil {
			e.m.firewallErrors.WithLabelValues("apply").Inc()
			e.log.Error("apply bans to nftables: refused as invalid, not retried", "err", err, "changes", len(kernel))
		} else {
			e.opWorked("apply", "applying bans to nftables works again")
		}
	}
	e.applied(e.pending, err, err != nil)
	e.audit.decided(e.pending, e.auditResults(err))
	for _, d := range e.pending {
		e.logDecision(d)
		e.m.decision(d)
	}
	decided := e.pending
	e.pending = nil
	if len(e.positions) > 0 {
		batch.Positions = e.positions
		e.positions = make(map[string]string)
	}
	batch.Pending, e.windows = e.windows, nil
	if serr := saved(e.st.Update(batch)); serr != nil {
		e.log.Error("save state", "err", serr)
		if err == nil {
			err = serr
		}
	}
	e.lastSave = now
	e.flushed(decided)
	return err
}

func (e *enforcer) logDecision(d jail.Decision) {
	if d.Action == jail.ActionBan {
		e.log.Info("ban", "jail", d.Jail, "host", d.Key.String(), "for", d.Duration.String(), "hits", d.Hits, "offences", d.Offences)
		return
	}
	e.log.Info("unban", "jail", d.Jail, "host", d.Key.String())
}

func addToBatch(b *store.Batch, d jail.Decision, ja *jailActions) {
	key := d.Key.String()
	if d.Action != jail.ActionBan {
		b.DeleteBans = append(b.DeleteBans, store.BanKey{Jail: d.Jail, Key: key})
		return
	}
	ban := store.Ban{Jail: d.Jail, Key: key, At: d.At, Until: d.Until, Offences: d.Offences, Source: d.Source, Reporters: d.Reporters, EscalatedFrom: d.EscalatedFrom}
	for _, p := range d.Addrs {
		ban.Addrs = append(ban.Addrs, jail.Key{Prefix: p}.String())
	}
	b.PutBans = append(b.PutBans, ban)
	b.PutOffenders = append(b.PutOffenders, store.Offender{Jail: d.Jail, Key: key, Offences: d.Offences, Last: d.At})
	if ja == nil {
		return
	}
	// Handed over, not yet acknowledged: a restart before the action's
	// answer hands it over again.
	for _, r := range ja.runners {
		if r.Action().Takes(d.Key) {
			b.PutActions = append(b.PutActions, store.ActionRecord{Action: r.key, Jail: d.Jail, Key: key, Until: d.Until})
		}
	}
}

func (e *enforcer) setActions(a map[string]*jailActions) {
	e.mu.Lock()
	e.jails = a
	e.mu.Unlock()
}

// await leaves a to the background: it is applied by the first flush after
// its listing arrives. An adoption already waiting takes a's jails in.
func (e *enforcer) await(a *adoption, listed <-chan listing) {
	e.mu.Lock()
	if old := e.adopt; old != nil && !old.taken {
		for name := range a.jails {
			old.jails[name] = true
		}
		for id := range a.known {
			old.known[id] = struct{}{}
		}
		a = old
	} else {
		e.adopt = a
	}
	a.waiting++
	e.mu.Unlock()
	e.listing.Go(func() {
		l := <-listed
		e.mu.Lock()
		defer e.mu.Unlock()
		a.waiting--
		switch {
		case l.err == nil && a.listed == nil:
			a.listed = &l
		case l.err != nil && a.waiting == 0 && a.listed == nil && e.adopt == a:
			e.log.Warn("read bans back from nftables; elements the state does not know are not adopted", "err", l.err)
			e.adopt = nil
		}
	})
}

// retarget points a waiting adoption at the generation that replaces the
// running one, keeping the jails that still ban in nftables.
func (e *enforcer) retarget(t adoptTarget) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.adopt
	if a == nil {
		return
	}
	a.target = t
	for name := range a.jails {
		if !t.adopts(name) {
			delete(a.jails, name)
		}
	}
}

// adoptListed applies a waiting adoption whose listing has arrived. Only
// the running generation's own goroutines flush without force, and they
// hold no lock here: adoptInto can take the engine.
func (e *enforcer) adoptListed() {
	e.mu.Lock()
	a := e.adopt
	if a == nil || a.listed == nil || a.taken {
		e.mu.Unlock()
		return
	}
	a.taken = true
	l := *a.listed
	e.mu.Unlock()
	if err := saved(e.st.Update(store.Batch{PutBans: e.adoptInto(a, l)})); err != nil {
		e.log.Error("save adopted bans", "err", err)
	}
}

// adoptNow applies a before its generation runs, when nothing else uses
// the jails, and returns the bans to save.
func (e *enforcer) adoptNow(a *adoption, l listing) []store.Ban {
	if l.err != nil {
		e.log.Warn("read bans back from nftables; elements the state does not know are not adopted", "err", l.err)
		return nil
	}
	return e.adoptInto(a, l)
}

// adoptInto adopts l's elements into a's jails and returns the bans to
// save. The jails are reached only through a.target.hold, which takes the
// engine and then runs the enforcer's part, which takes mu: engine, then
// enforcer, the order in which the counting calls queue. This is the one
// call of hold; its caller must not hold mu.
func (e *enforcer) adoptInto(a *adoption, l listing) []store.Ban {
	var puts []store.Ban
	a.target.hold(func(restore func(jail string, b jail.Ban) bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		puts = a.apply(l, e.log, restore, func(name string, b jail.Ban) { e.trackLocked(e.jails[name], name, []jail.Ban{b}, nil) })
		if e.adopt == a {
			e.adopt = nil
		}
	})
	return puts
}
