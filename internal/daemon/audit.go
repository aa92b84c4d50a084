package daemon

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/jail"
)

// trail turns the daemon's decisions into audit records. A nil *trail (the
// audit section says enabled: false) records nothing, so the hooks in the
// enforcer and the handlers need no check.
type trail struct {
	log *audit.Log
	now func() time.Time

	mu      sync.Mutex
	jails   map[string]jailMeta     // by name, of the running configuration
	callers map[manualNote][]uint32 // callers of commands whose decisions are not recorded yet
}

// jailMeta is what a record says of the jail that decided.
type jailMeta struct {
	filter  string
	policy  audit.Policy
	sources []string
}

// manualNote names a decision a command made, until its flush records it.
type manualNote struct {
	jail, key string
	ban       bool
}

// unknownUID stands for a command given without a control connection
// (a test calling the handler); never a real uid.
const unknownUID = ^uint32(0)

// openAudit starts the trail beside the state file; its teardown runs after
// the last flush (registered before the generation's).
func (d *Daemon) openAudit(cfg *config.Config) *trail {
	a := cfg.AuditSettings()
	if !a.Enabled {
		return nil
	}
	t := &trail{now: d.o.Now, callers: map[manualNote][]uint32{}}
	t.log = audit.Open(filepath.Dir(d.o.StatePath), audit.Options{
		MaxSize: a.MaxSize, Keep: a.Keep, Logger: d.log, Registerer: d.o.Registry,
	})
	t.setJails(cfg)
	d.teardown = append(d.teardown, t.log.Close)
	return t
}

func (t *trail) setJails(cfg *config.Config) {
	m := make(map[string]jailMeta, len(cfg.Jails))
	for _, j := range cfg.Jails {
		var src []string
		for _, f := range j.Files {
			src = append(src, "files:"+f)
		}
		for _, m := range j.Journal {
			src = append(src, "journal:"+m)
		}
		m[j.Name] = jailMeta{filter: j.FilterName, sources: src, policy: audit.Policy{
			FindTime: j.Policy.FindTime.String(), MaxRetry: j.Policy.MaxRetry, BanTime: j.Policy.BanTime.String(),
		}}
	}
	t.mu.Lock()
	t.jails = m
	t.mu.Unlock()
}

// manual notes that decs were made by the command running in ctx, so that
// the flush that records them says by whom.
func (t *trail) manual(ctx context.Context, decs ...jail.Decision) {
	if t == nil {
		return
	}
	uid, ok := control.Caller(ctx)
	if !ok {
		uid = unknownUID
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range decs {
		n := manualNote{d.Jail, d.Key.String(), d.Action == jail.ActionBan}
		t.callers[n] = append(t.callers[n], uid)
	}
}

// decided records one flush's decisions, with what each action made of
// them; called with the enforcer's lock held, after the firewall and
// before the store, so that no ban reaches the store without its record.
func (t *trail) decided(decs []jail.Decision, results func(jail.Decision) []audit.Result) {
	if t == nil || len(decs) == 0 {
		return
	}
	now := t.now().UTC()
	recs := make([]audit.Record, len(decs))
	t.mu.Lock()
	for i, d := range decs {
		recs[i] = t.record(d, now)
		recs[i].Actions = results(d)
	}
	t.mu.Unlock()
	t.log.Write(recs...)
}

// record is d's record; the caller holds mu.
func (t *trail) record(d jail.Decision, now time.Time) audit.Record {
	key := d.Key.String()
	r := audit.Record{Time: now, Event: audit.EventBan, By: audit.ByJail, Jail: d.Jail, Key: key, At: d.At.UTC()}
	if d.Action != jail.ActionBan {
		r.Event, r.By = audit.EventUnban, audit.ByExpiry
	} else {
		m := t.jails[d.Jail]
		r.Until, r.Hits, r.Offences = d.Until.UTC(), d.Hits, d.Offences
		r.Filter, r.Sources = m.filter, m.sources
		if m.policy.MaxRetry > 0 {
			r.Policy = &m.policy
		}
		r.Evidence = d.Evidence[:min(len(d.Evidence), audit.MaxEvidence)]
		if d.EscalatedFrom != 0 {
			r.Event, r.EscalatedFrom = audit.EventEscalation, d.EscalatedFrom
		}
	}
	for _, a := range d.Addrs {
		r.Addrs = append(r.Addrs, a.String())
	}
	if d.Source == sourceFleet {
		r.By, r.Reporters = audit.ByFleet, d.Reporters
		return r
	}
	n := manualNote{d.Jail, key, d.Action == jail.ActionBan}
	if uids := t.callers[n]; len(uids) > 0 {
		r.By = audit.ByManual
		if uid := uids[0]; uid != unknownUID {
			r.UID = &uid
		}
		if len(uids) == 1 {
			delete(t.callers, n)
		} else {
			t.callers[n] = uids[1:]
		}
	}
	return r
}

// reloaded records a reload's outcome; on success the records that follow
// describe the new configuration's jails.
func (t *trail) reloaded(ctx context.Context, path string, err error, cur *generation) {
	if t == nil {
		return
	}
	ok := err == nil
	r := audit.Record{Time: t.now().UTC(), Event: audit.EventReload, By: audit.BySignal, OK: &ok, Config: path}
	if uid, manual := control.Caller(ctx); manual {
		r.By, r.UID = audit.ByManual, &uid
	}
	if err != nil {
		r.Error = err.Error()
	} else if cur != nil {
		t.setJails(cur.cfg)
	}
	t.log.Write(r)
}

// auditResults says what the enforcement made of d in the flush that
// applied it, one entry per action of the jail that takes d's key, in
// config order: the kernel's answer (applyErr), the dry-run backend's, and
// for a queued action only that it was handed over (queued: its answer is
// recorded when it comes, as an "action" record). Nil when no action takes
// the key.
func (e *enforcer) auditResults(applyErr error) func(jail.Decision) []audit.Result {
	return func(d jail.Decision) []audit.Result {
		ja := e.jails[d.Jail]
		if ja == nil {
			return nil
		}
		var out []audit.Result
		for _, s := range ja.status {
			switch {
			case s.kernel:
				if len(action.Prefixes(d)) == 0 {
					continue
				}
				r := audit.Result{Action: s.name, OK: applyErr == nil}
				if applyErr != nil {
					r.Error = applyErr.Error()
				}
				out = append(out, r)
			case s.runner != nil:
				if s.runner.Action().Takes(d.Key) {
					out = append(out, audit.Result{Action: s.name, Queued: true})
				}
			default:
				out = append(out, audit.Result{Action: s.name, OK: true})
			}
		}
		return out
	}
}

// answered records what a queued action made of decisions handed to it
// earlier: those it applied and those it gave up on. Retries still to come
// are not recorded; their answer is.
func (t *trail) answered(label string, out action.Outcome) {
	if t == nil || len(out.Applied)+len(out.Dropped) == 0 {
		return
	}
	now := t.now().UTC()
	recs := make([]audit.Record, 0, len(out.Applied)+len(out.Dropped))
	rec := func(d jail.Decision, r audit.Result) audit.Record {
		// No "by": the answer belongs to the ban or unban recorded before,
		// which says who made it (At names which one).
		return audit.Record{Time: now, Event: audit.EventAction, Jail: d.Jail, Key: d.Key.String(), At: d.At.UTC(), Actions: []audit.Result{r}}
	}
	for _, d := range out.Applied {
		recs = append(recs, rec(d, audit.Result{Action: label, OK: true}))
	}
	why := "dropped"
	if out.Err != nil {
		why = "dropped: " + out.Err.Error()
	}
	for _, d := range out.Dropped {
		recs = append(recs, rec(d, audit.Result{Action: label, Error: why}))
	}
	t.log.Write(recs...)
}
