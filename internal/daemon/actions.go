package daemon

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// The actions layer as the daemon runs it. A jail's actions are of two
// sorts, told apart by the interfaces they implement, never by their names:
//   - inline (action.Inline): the kernel (action.Kernel) and dry-run,
//     applied inside the enforcer's flush, the kernel first, then the store,
//     so that a crash never leaves a stored ban the kernel did not enforce;
//     the kernel's changes of every jail go in one transaction, verified and
//     repaired by the verification loop;
//   - queued: every other action (flow-admin, webhook, exec), handed the
//     decisions after the store commit through an action.Runner of its own,
//     which retries with backoff. The store records what each was handed
//     and acknowledged (store.ActionRecord), and a restart reconciles it.

// jailActions are one jail's actions, in config order.
type jailActions struct {
	specs   []config.ActionSpec
	kernel  bool            // one of them bans in the kernel
	dryRun  []action.Action // inline actions other than the kernel
	runners []*actionRunner
	names   string
	// status lists every action in config order for status: its name and
	// the runner behind it (nil for the inline ones).
	status []actionSlot
}

type actionSlot struct {
	name   string
	kernel bool
	runner *actionRunner
}

// actionRunner is a queued action of one jail.
type actionRunner struct {
	jail string
	spec config.ActionSpec
	key  string // spec.Key(): the store's and the daemon's name for it
	*action.Runner
}

// runnerID names a queued action across generations: a reload that keeps a
// jail's action as it was keeps its Runner, queue and all.
type runnerID struct{ jail, key string }

// takes reports whether any of the jail's actions enforces k.
func (a *jailActions) takes(d jail.Decision) bool {
	if a == nil {
		return false
	}
	if a.kernel && len(action.Prefixes(d)) > 0 {
		return true
	}
	for _, r := range a.runners {
		if r.Action().Takes(d.Key) {
			return true
		}
	}
	return len(a.dryRun) > 0
}

// taking counts the queued actions that take k.
func (a *jailActions) taking(k jail.Key) int {
	n := 0
	for _, r := range a.runners {
		if r.Action().Takes(k) {
			n++
		}
	}
	return n
}

// ErrNotBuiltIn is the start-up error for a configured action whose type
// this binary has no constructor for.
var ErrNotBuiltIn = errors.New("is not built into this binary")

// buildActions makes the actions of g's jails: the inline ones anew, the
// queued ones reusing the running Runner where the jail's entry is
// unchanged. It returns the Runners it started, which the caller closes if
// the generation is not swapped in, and reconciles once it is.
func (d *Daemon) buildActions(cfg *config.Config) (map[string]*jailActions, []*actionRunner, error) {
	out := make(map[string]*jailActions, len(cfg.Jails))
	var started []*actionRunner
	fail := func(err error) (map[string]*jailActions, []*actionRunner, error) {
		closeRunners(started)
		return nil, nil, err
	}
	for _, jc := range cfg.Jails {
		ja := &jailActions{specs: jc.Actions, names: config.ActionNames(jc.Actions)}
		for _, spec := range jc.Actions {
			if old := d.runners[runnerID{jc.Name, spec.Key()}]; old != nil && reflect.DeepEqual(old.spec, spec) {
				ja.runners = append(ja.runners, old)
				ja.status = append(ja.status, actionSlot{name: old.Action().Name(), runner: old})
				continue
			}
			a, err := d.newAction(spec, jc.Name)
			if err != nil {
				return fail(err)
			}
			switch a := a.(type) {
			case action.Kernel:
				ja.kernel = true
				ja.status = append(ja.status, actionSlot{name: a.Name(), kernel: true})
			case action.Inline:
				ja.dryRun = append(ja.dryRun, a)
				ja.status = append(ja.status, actionSlot{name: a.Name()})
			default:
				r := &actionRunner{jail: jc.Name, spec: spec, key: spec.Key()}
				r.Runner = action.NewRunner(a, action.RunnerOptions{
					Jail: jc.Name, Type: string(spec.Type), Retries: spec.Retries, Queue: spec.Queue,
					Logger: d.log, Metrics: d.actionMetrics, Outcome: d.enf.outcome(r.key, a.Name()),
				})
				ja.runners = append(ja.runners, r)
				ja.status = append(ja.status, actionSlot{name: a.Name(), runner: r})
				started = append(started, r)
			}
		}
		out[jc.Name] = ja
	}
	return out, started, nil
}

// newAction builds one action: the kernel and dry-run here, the others
// through Options.Constructors.
func (d *Daemon) newAction(spec config.ActionSpec, jailName string) (action.Action, error) {
	env := action.Env{Jail: jailName, Logger: d.log.With("jail", jailName, "action", spec.Label()), Version: d.o.Version}
	build := d.builtin(jailName)[spec.Type]
	if build == nil {
		build = d.o.Constructors[spec.Type]
	}
	if build == nil {
		return nil, fmt.Errorf("%s: jail %q: action type %s %w", spec.Pos, jailName, spec.Type, ErrNotBuiltIn)
	}
	a, err := build(spec, env)
	if err != nil {
		return nil, fmt.Errorf("%s: jail %q: start action %s: %w", spec.Pos, jailName, spec.Label(), err)
	}
	return a, nil
}

// builtin are the constructors of the actions this package runs inline.
func (d *Daemon) builtin(jailName string) map[config.ActionType]action.Constructor {
	return map[config.ActionType]action.Constructor{
		config.ActionNFTables: func(config.ActionSpec, action.Env) (action.Action, error) {
			if d.kernel == nil {
				return nil, errors.New("nftables was not opened at start; restart peerjail")
			}
			return action.NewNFTables(d.kernel, jailName, d.o.Now), nil
		},
		config.ActionDryRun: func(_ config.ActionSpec, env action.Env) (action.Action, error) {
			return action.NewDryRun(env.Logger), nil
		},
	}
}

func closeRunners(rs []*actionRunner) error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// useRunners makes acts the daemon's running set of queued actions and
// closes those no jail uses any more.
func (d *Daemon) useRunners(acts map[string]*jailActions) {
	next := map[runnerID]*actionRunner{}
	for name, ja := range acts {
		for _, r := range ja.runners {
			next[runnerID{name, r.key}] = r
		}
	}
	for id, r := range d.runners {
		if next[id] != r {
			if err := r.Close(); err != nil {
				d.log.Warn("close action", "jail", id.jail, "action", r.spec.Label(), "err", err)
			}
		}
	}
	d.runners = next
}

// reconcile hands new Runners what the store says their action should
// hold: an unban for every record whose ban is no longer active (it ended
// while peerjail was down, or was lifted), a ban for every active ban of
// the jail that the action takes and has not acknowledged.
func (d *Daemon) reconcile(started []*actionRunner) error {
	if len(started) == 0 {
		return nil
	}
	bans, err := d.st.Bans()
	if err != nil {
		return err
	}
	recs, err := d.st.Actions()
	if err != nil {
		return err
	}
	now := d.o.Now()
	active := map[store.BanKey]store.Ban{}
	for _, b := range bans {
		if b.Until.After(now) {
			active[store.BanKey{Jail: b.Jail, Key: b.Key}] = b
		}
	}
	var batch store.Batch
	hand := make([][]jail.Decision, len(started))
	for i, r := range started {
		hand[i] = d.reconcileOne(r, active, recs, now, &batch)
	}
	// The records first: an answer of the action must come after them.
	err = saved(d.st.Update(batch))
	for i, r := range started {
		if len(hand[i]) > 0 {
			d.log.Info("handing an action what the state says it should hold", "jail", r.jail, "action", r.spec.Label(), "decisions", len(hand[i]))
			r.Submit(hand[i]...)
		}
	}
	return err
}

// reconcileOne returns what r must be handed, adding to batch the records
// to write first.
func (d *Daemon) reconcileOne(r *actionRunner, active map[store.BanKey]store.Ban, recs []store.ActionRecord, now time.Time, batch *store.Batch) []jail.Decision {
	jailName := r.jail
	acked := map[string]bool{}
	var decs []jail.Decision
	for _, rec := range recs {
		if rec.Action != r.key || rec.Jail != jailName {
			continue
		}
		if _, ok := active[store.BanKey{Jail: rec.Jail, Key: rec.Key}]; ok {
			acked[rec.Key] = rec.Acked
			continue
		}
		k, err := jail.ParseKey(rec.Key, 128)
		if err != nil {
			batch.DeleteActions = append(batch.DeleteActions, store.ActionKey{Action: rec.Action, Jail: rec.Jail, Key: rec.Key})
			continue
		}
		decs = append(decs, jail.Decision{Action: jail.ActionUnban, Jail: jailName, Key: k, At: now})
	}
	var held []jail.Key
	for bk, b := range active {
		if bk.Jail != jailName {
			continue
		}
		k, err := jail.ParseKey(b.Key, 128)
		if err != nil || !r.Action().Takes(k) {
			continue
		}
		if acked[b.Key] {
			held = append(held, k)
			continue
		}
		decs = append(decs, jail.Decision{Action: jail.ActionBan, Jail: jailName, Key: k, At: b.At, Until: b.Until,
			Duration: b.Until.Sub(b.At), Offences: b.Offences, Addrs: parsePrefixes(b.Addrs)})
		batch.PutActions = append(batch.PutActions, store.ActionRecord{Action: r.key, Jail: jailName, Key: b.Key, Until: b.Until})
	}
	r.Holds(held...)
	var again []jail.Key
	for _, dec := range decs {
		if dec.Action == jail.ActionBan {
			again = append(again, dec.Key)
		}
	}
	d.enf.expect(jailName, again, "handed to "+r.spec.Label()+" again at start; not acknowledged yet")
	return decs
}

func parsePrefixes(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if k, err := jail.ParseKey(s, 128); err == nil && k.Prefix.IsValid() {
			out = append(out, k.Prefix)
		}
	}
	return out
}

// flushed hands the decisions of a flush, now in the kernel (where they
// ban in it) and in the store, to the queued actions that take them. The
// caller holds mu. With outcome, it is the one place where what became of
// a decision is known: here what the flush did, there what each queued
// action did.
func (e *enforcer) flushed(decs []jail.Decision) {
	if e.report != nil {
		e.report(decs)
	}
	for _, d := range decs {
		ja := e.jails[d.Jail]
		if ja == nil {
			continue
		}
		for _, r := range ja.runners {
			r.Submit(d)
		}
	}
}

// kernelChangesLocked are the kernel's changes for d. An unban lifts an
// identity's addresses, those the decision names and those its ban had,
// but none that another ban of the jail still holds; it records the ones
// it lifts in d, so that a retry lifts the same and the queued actions
// hear of them. The caller holds mu.
func (e *enforcer) kernelChangesLocked(d *jail.Decision, now time.Time) []firewall.Change {
	if d.Action == jail.ActionBan {
		return action.Changes([]jail.Decision{*d}, now)
	}
	var lift []netip.Prefix
	if d.Key.Prefix.IsValid() {
		if e.view.refs[banID{d.Jail, canonKey(d.Key).Prefix}] == 0 {
			lift = []netip.Prefix{d.Key.Prefix}
		}
	} else {
		id := stateKey{d.Jail, canonKey(d.Key)}
		var addrs []netip.Prefix
		if s := e.view.bans[id]; s != nil {
			addrs = s.addrs
		}
		for _, p := range mergePrefixes(addrs, d.Addrs) {
			k := canonKey(jail.Key{Prefix: p})
			held := e.view.refs[banID{d.Jail, k.Prefix}]
			if mine := e.view.bans[id]; mine != nil && slices.Contains(mine.addrs, p) {
				held-- // its own reference
			}
			if other := e.view.bans[stateKey{d.Jail, k}]; held == 0 && other == nil {
				lift = append(lift, p)
			}
		}
		d.Addrs = lift
	}
	return action.Changes([]jail.Decision{{Action: jail.ActionUnban, Jail: d.Jail, Key: jail.Key{ID: d.Key.ID}, Addrs: lift}}, now)
}

// untakenLocked logs, once per jail, a decision none of the jail's
// actions takes: an identity in a jail whose only actions ban addresses,
// and that came without any. Status shows it as "identity".
func (e *enforcer) untakenLocked(d jail.Decision) {
	if e.untaken[d.Jail] {
		return
	}
	if e.untaken == nil {
		e.untaken = map[string]bool{}
	}
	e.untaken[d.Jail] = true
	e.log.Warn("a decision none of the jail's actions takes (an identity with no known address, in a jail that bans only addresses); "+
		"it is counted and stored but not enforced; further ones are not logged", "jail", d.Jail, "host", d.Key.String())
}

// outcome returns what a queued action's Runner calls after each attempt:
// it records in the store what the action acknowledged (and forgets what
// it gave up on), and in the view whether a ban it takes is in force.
func (e *enforcer) outcome(key, label string) func(action.Outcome) {
	return func(out action.Outcome) {
		e.audit.answered(label, out)
		var b store.Batch
		for _, d := range out.Applied {
			k := store.ActionKey{Action: key, Jail: d.Jail, Key: d.Key.String()}
			if d.Action == jail.ActionBan {
				b.PutActions = append(b.PutActions, store.ActionRecord{Action: key, Jail: d.Jail, Key: k.Key, Until: d.Until, Acked: true})
			} else {
				b.DeleteActions = append(b.DeleteActions, k)
			}
		}
		for _, d := range out.Dropped {
			if d.Action == jail.ActionBan {
				b.DeleteActions = append(b.DeleteActions, store.ActionKey{Action: key, Jail: d.Jail, Key: d.Key.String()})
			}
		}
		if err := saved(e.st.Update(b)); err != nil {
			e.log.Error("save what an action holds", "action", label, "err", err)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, d := range out.Applied {
			e.view.acked(d, "")
		}
		why := "not applied yet"
		if out.Err != nil {
			why = out.Err.Error()
		}
		for _, d := range out.Retry {
			e.view.acked(d, why)
		}
		for _, d := range out.Dropped {
			e.view.acked(d, "dropped by "+label+": "+why)
		}
	}
}

// expect marks restored bans as waiting for a queued action again.
func (e *enforcer) expect(jailName string, keys []jail.Key, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range keys {
		id := stateKey{jailName, canonKey(k)}
		if s := e.view.bans[id]; s != nil && s.kind == kindQueued {
			s.waiting++
			e.view.mark(id, false, why)
		}
	}
}

func mergePrefixes(a, b []netip.Prefix) []netip.Prefix {
	out := slices.Concat(a, b)
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	})
	return slices.Compact(out)
}

// actionStatus is one line per action of a jail with bans bans: the
// kernel's from the enforcer's view (Held: the bans it enforces; Queued:
// those pending, which the next flush or repair retries), dry-run's the
// jail's bans, a queued action's from its Runner.
func (e *enforcer) actionStatus(name string, ja *jailActions, bans int) []control.ActionStatus {
	enforced, pending := e.counts(name)
	out := make([]control.ActionStatus, 0, len(ja.status))
	for _, sl := range ja.status {
		st := control.ActionStatus{Name: sl.name}
		switch {
		case sl.kernel:
			st.Held, st.Queued = enforced, pending
			if err := e.failing("apply"); err != "" {
				st.Failing, st.Error = true, err
			}
		case sl.runner == nil:
			st.Held = bans
		default:
			rs := sl.runner.State()
			st.Held, st.Queued, st.Dropped = rs.Held, rs.Queued, rs.Dropped
			st.Failing, st.Since, st.Error = !rs.Since.IsZero(), rs.Since, rs.Err
		}
		out = append(out, st)
	}
	return out
}
