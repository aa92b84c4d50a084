package daemon

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
)

// The enforcer's view of every ban it was given: whether its action holds
// it. It is the one source of `status`'s enforced/pending and of
// peerjail_banned and peerjail_bans_pending; the kernel's listing and the
// verification loop (verify.go) keep it true.

// banState is what the enforcer knows of one ban.
type banState struct {
	until time.Time
	kind  banKind
	// enforced: the action holds the ban, as of the last apply or
	// verification; else err says why not.
	enforced bool
	err      string
	seq      uint64 // the enforcer's seq when the ban was last decided
}

type banKind uint8

const (
	kindKernel   banKind = iota // a prefix in a jail that bans in nftables
	kindDryRun                  // a prefix in a dry-run jail
	kindIdentity                // an identity, which no packet filter matches
	kindRefused                 // the firewall refuses it as invalid
)

type stateKey struct {
	jail string
	key  jail.Key
}

// jailCounts are a jail's bans by state, kept as they change so that a
// scrape costs O(jails).
type jailCounts struct{ enforced, pending int }

// states is the view; the enforcer's mu guards it.
type states struct {
	bans   map[stateKey]*banState
	counts map[string]*jailCounts
	seq    uint64
}

// counted reports whether a state counts as enforced or pending: identities
// count as neither, since nothing enforces them yet.
func (s *banState) counted() bool { return s.kind != kindIdentity }

func (v *states) adjust(name string, s *banState, by int) {
	if !s.counted() {
		return
	}
	c := v.counts[name]
	if c == nil {
		c = &jailCounts{}
		v.counts[name] = c
	}
	if s.enforced {
		c.enforced += by
	} else {
		c.pending += by
	}
}

// set records a ban's state, replacing what was known of it.
func (v *states) set(name string, k jail.Key, s banState) {
	if v.bans == nil {
		v.bans, v.counts = map[stateKey]*banState{}, map[string]*jailCounts{}
	}
	id := stateKey{name, canonKey(k)}
	if old := v.bans[id]; old != nil {
		v.adjust(name, old, -1)
	}
	v.seq++
	s.seq = v.seq
	v.bans[id] = &s
	v.adjust(name, &s, 1)
}

// mark changes whether a known ban is enforced, keeping its seq: it is
// what the kernel was found to hold, not a new decision.
func (v *states) mark(id stateKey, enforced bool, err string) {
	s := v.bans[id]
	if s == nil {
		return
	}
	v.adjust(id.jail, s, -1)
	s.enforced, s.err = enforced, err
	if enforced {
		s.err = ""
	}
	v.adjust(id.jail, s, 1)
}

func (v *states) remove(name string, k jail.Key) {
	id := stateKey{name, canonKey(k)}
	if s := v.bans[id]; s != nil {
		v.adjust(name, s, -1)
		delete(v.bans, id)
		v.seq++
	}
}

// keepJails forgets the bans of jails not in keep (nil forgets all).
func (v *states) keepJails(keep func(string) bool) {
	for id, s := range v.bans {
		if keep == nil || !keep(id.jail) {
			v.adjust(id.jail, s, -1)
			delete(v.bans, id)
		}
	}
	for name, c := range v.counts {
		if (keep == nil || !keep(name)) && c.enforced == 0 && c.pending == 0 {
			delete(v.counts, name)
		}
	}
	v.seq++
}

// canonKey brings a prefix into the form the jails and the firewall agree
// on, so that a ban read back from the kernel finds its state.
func canonKey(k jail.Key) jail.Key {
	if k.ID != "" || !k.Prefix.IsValid() {
		return jail.Key{ID: k.ID}
	}
	a, bits := k.Prefix.Addr().WithZone(""), k.Prefix.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return k
	}
	return jail.Key{Prefix: p}
}

// kindOf is how a ban in a jail with action is enforced.
func kindOf(action config.Action, k jail.Key, kernel bool) banKind {
	switch {
	case !k.Prefix.IsValid():
		return kindIdentity
	case action == config.ActionNFTables && kernel:
		return kindKernel
	}
	return kindDryRun
}

// Status words of control.Banned.Enforcement besides enforced and pending.
const (
	dryRunWord   = "dry-run"
	identityWord = "identity"
)

// enforcement fills in how each of a jail's bans is enforced, as the
// enforcer knows it: a ban it has not applied yet is pending.
func (e *enforcer) enforcement(name string, bans []control.Banned, keys []jail.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, k := range keys {
		s := e.view.bans[stateKey{name, canonKey(k)}]
		switch {
		case s == nil && !k.Prefix.IsValid():
			bans[i].Enforcement = identityWord
		case s == nil:
			bans[i].Enforcement = control.Pending
			bans[i].Error = "not applied yet"
		case s.kind == kindIdentity:
			bans[i].Enforcement = identityWord
		case !s.enforced:
			bans[i].Enforcement, bans[i].Error = control.Pending, s.err
		case s.kind == kindDryRun:
			bans[i].Enforcement = dryRunWord
		default:
			bans[i].Enforcement = control.Enforced
		}
	}
}

// counts returns a jail's enforced and pending bans.
func (e *enforcer) counts(name string) (enforced, pending int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.view.counts[name]; c != nil {
		return c.enforced, c.pending
	}
	return 0, 0
}

// kernelBans returns the bans of jails that the kernel should hold now,
// with the time they have left, and their states' keys; bans ending within
// expiryGrace are left to the kernel's own expiry. The caller holds mu.
func (e *enforcer) kernelBans(now time.Time, jails []firewall.Jail) ([]firewall.Change, []stateKey) {
	set := make(map[string]bool, len(jails))
	for _, j := range jails {
		set[j.Name] = true
	}
	var out []firewall.Change
	var ids []stateKey
	for id, s := range e.view.bans {
		if s.kind != kindKernel || !set[id.jail] {
			continue
		}
		left := s.until.Sub(now)
		if left < expiryGrace {
			continue
		}
		out = append(out, firewall.Change{Jail: id.jail, Prefix: id.key.Prefix, Add: true, Timeout: left})
		ids = append(ids, id)
	}
	return out, ids
}

// expiryGrace: a ban this close to its end is not put back; it would end
// before anyone could tell.
const expiryGrace = 2 * time.Second

// applied records the outcome of one flush's decisions. err is the
// kernel's refusal, if any; refused marks it as final (invalid changes).
// The caller holds mu.
func (e *enforcer) applied(decs []jail.Decision, err error, refused bool) {
	for _, d := range decs {
		kind := kindOf(e.actions[d.Jail], d.Key, e.kernel != nil)
		if d.Action != jail.ActionBan {
			// Gone from the jail whether or not the kernel took the unban
			// yet (it is retried): never to be put back by a repair.
			e.view.remove(d.Jail, d.Key)
			continue
		}
		s := banState{until: d.Until, kind: kind, enforced: true}
		if kind == kindKernel && err != nil {
			s.enforced, s.err = false, err.Error()
			if refused {
				if verr := firewall.Validate(firewall.Change{Jail: d.Jail, Prefix: d.Key.Prefix, Add: true, Timeout: time.Hour}); verr != nil {
					s.kind, s.err = kindRefused, verr.Error()
				}
			}
		}
		e.view.set(d.Jail, d.Key, s)
	}
}

// track records bans that are in force after a restore or an adoption.
func (e *enforcer) track(name string, bans []jail.Ban) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.trackLocked(name, bans)
}

func (e *enforcer) trackLocked(name string, bans []jail.Ban) {
	kernel := e.kernel != nil
	for _, b := range bans {
		e.view.set(name, b.Key, banState{until: b.Until, kind: kindOf(e.actions[name], b.Key, kernel), enforced: true})
	}
}

// forget drops what is known of jails' bans, before they are restored anew.
func (e *enforcer) forget(names ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.view.keepJails(func(j string) bool { return !slices.Contains(names, j) })
}

// setupMemo remembers the jails of the last Setup that succeeded, so that
// a repair sets up what is configured now, never a list a reload replaced
// meanwhile: Setup and the repair's setup take turns.
type setupMemo struct {
	firewall.Firewall
	mu    sync.Mutex
	jails []firewall.Jail
	done  bool
}

func (s *setupMemo) Setup(ctx context.Context, jails []firewall.Jail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Firewall.Setup(ctx, jails); err != nil {
		return err
	}
	s.jails, s.done = slices.Clone(jails), true
	return nil
}

// current returns the jails set up last; false before any Setup.
func (s *setupMemo) current() ([]firewall.Jail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jails), s.done
}

// again sets up the jails of the last Setup once more.
func (s *setupMemo) again(ctx context.Context) ([]firewall.Jail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		return nil, nil
	}
	return slices.Clone(s.jails), s.Firewall.Setup(ctx, s.jails)
}
