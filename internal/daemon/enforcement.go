package daemon

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

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
	// addrs are an identity's addresses, which a kernel ban of it holds.
	addrs []netip.Prefix
	// waiting counts the queued actions that have not acknowledged a
	// kindQueued ban yet.
	waiting int
}

type banKind uint8

const (
	kindKernel   banKind = iota // a prefix, or an identity's addresses, in a jail that bans in nftables
	kindDryRun                  // a prefix in a dry-run jail
	kindIdentity                // an identity none of the jail's actions takes
	kindRefused                 // the firewall refuses it as invalid
	kindQueued                  // held by the jail's queued actions once they acknowledge it
	kindUntaken                 // a prefix none of the jail's actions takes
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
	// refs counts, per address, the identity bans of the jail whose
	// addresses hold it in the kernel, so that an unban lifts only what
	// no other ban holds.
	refs map[banID]int
}

// counted reports whether a state counts as enforced or pending: what no
// action takes counts as neither.
func (s *banState) counted() bool { return s.kind != kindIdentity && s.kind != kindUntaken }

func (v *states) ref(name string, s *banState, by int) {
	if s.kind != kindKernel {
		return
	}
	if v.refs == nil {
		v.refs = map[banID]int{}
	}
	for _, p := range s.addrs {
		id := banID{name, canonKey(jail.Key{Prefix: p}).Prefix}
		if v.refs[id] += by; v.refs[id] <= 0 {
			delete(v.refs, id)
		}
	}
}

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
		v.ref(name, old, -1)
		// A later decision on a banned identity names only its new
		// addresses: the earlier ones stay banned.
		s.addrs = mergePrefixes(old.addrs, s.addrs)
	}
	v.seq++
	s.seq = v.seq
	v.bans[id] = &s
	v.adjust(name, &s, 1)
	v.ref(name, &s, 1)
}

// acked records a queued action's answer on a ban it was given: why is ""
// when it took effect, else why not.
func (v *states) acked(d jail.Decision, why string) {
	id := stateKey{d.Jail, canonKey(d.Key)}
	s := v.bans[id]
	if d.Action != jail.ActionBan || s == nil || s.kind != kindQueued || !s.until.Equal(d.Until) {
		return
	}
	if why != "" {
		v.mark(id, false, why)
		return
	}
	if s.waiting > 0 {
		s.waiting--
	}
	if s.waiting == 0 {
		v.mark(id, true, "")
	}
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
		v.ref(name, s, -1)
		delete(v.bans, id)
		v.seq++
	}
}

// keepJails forgets the bans of jails not in keep (nil forgets all).
func (v *states) keepJails(keep func(string) bool) {
	for id, s := range v.bans {
		if keep == nil || !keep(id.jail) {
			v.adjust(id.jail, s, -1)
			v.ref(id.jail, s, -1)
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

// kindOf is how a ban of k, with addrs addresses, is enforced in a jail
// with actions ja; kernel says whether the firewall is open.
func kindOf(ja *jailActions, k jail.Key, addrs int, kernel bool) banKind {
	switch {
	case ja == nil:
		return kindUntaken
	case ja.kernel && kernel && (k.Prefix.IsValid() || addrs > 0):
		return kindKernel
	case ja.taking(k) > 0:
		return kindQueued
	case k.Prefix.IsValid() && len(ja.dryRun) > 0:
		return kindDryRun
	case !k.Prefix.IsValid():
		return kindIdentity
	}
	return kindUntaken
}

// Status words of control.Banned.Enforcement besides enforced and pending.
const (
	dryRunWord   = "dry-run"
	identityWord = "identity"
	untakenWord  = "none"
)

// enforcement fills in how each of a jail's bans is enforced, as the
// enforcer knows it: a ban it has not applied yet is pending. An
// identity's addresses come from here too.
func (e *enforcer) enforcement(name string, bans []control.Banned, keys []jail.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, k := range keys {
		s := e.view.bans[stateKey{name, canonKey(k)}]
		if s != nil {
			for _, p := range s.addrs {
				bans[i].Addrs = append(bans[i].Addrs, jail.Key{Prefix: p}.String())
			}
		}
		switch {
		case s == nil && !k.Prefix.IsValid():
			bans[i].Enforcement = identityWord
		case s == nil:
			bans[i].Enforcement = control.Pending
			bans[i].Error = "not applied yet"
		case s.kind == kindIdentity:
			bans[i].Enforcement = identityWord
		case s.kind == kindUntaken:
			bans[i].Enforcement = untakenWord
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
		if id.key.Prefix.IsValid() {
			out = append(out, firewall.Change{Jail: id.jail, Prefix: id.key.Prefix, Add: true, Timeout: left})
			ids = append(ids, id)
		}
		for _, p := range s.addrs { // an identity's: its id once per address
			out = append(out, firewall.Change{Jail: id.jail, Prefix: p, Add: true, Timeout: left})
			ids = append(ids, id)
		}
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
		ja := e.jails[d.Jail]
		kind := kindOf(ja, d.Key, len(d.Addrs)+e.knownAddrs(d), e.kernel != nil)
		if d.Action != jail.ActionBan {
			// Gone from the jail whether or not the kernel took the unban
			// yet (it is retried): never to be put back by a repair.
			e.view.remove(d.Jail, d.Key)
			continue
		}
		s := banState{until: d.Until, kind: kind, enforced: true, addrs: d.Addrs}
		if kind == kindKernel && err != nil {
			s.enforced, s.err = false, err.Error()
			if refused && d.Key.Prefix.IsValid() {
				if verr := firewall.Validate(firewall.Change{Jail: d.Jail, Prefix: d.Key.Prefix, Add: true, Timeout: time.Hour}); verr != nil {
					s.kind, s.err = kindRefused, verr.Error()
				}
			}
		}
		if kind == kindQueued {
			s.waiting = ja.taking(d.Key)
			s.enforced, s.err = false, "not applied yet"
		}
		e.view.set(d.Jail, d.Key, s)
	}
}

// knownAddrs is how many addresses the view has for d's identity already.
func (e *enforcer) knownAddrs(d jail.Decision) int {
	if s := e.view.bans[stateKey{d.Jail, canonKey(d.Key)}]; s != nil {
		return len(s.addrs)
	}
	return 0
}

// track records bans that are in force after a restore or an adoption,
// with the addresses of identities among them.
// The jail's actions are given: a reload restores its new jails before
// their actions run.
func (e *enforcer) track(ja *jailActions, name string, bans []jail.Ban, addrs map[jail.Key][]netip.Prefix) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.trackLocked(ja, name, bans, addrs)
}

func (e *enforcer) trackLocked(ja *jailActions, name string, bans []jail.Ban, addrs map[jail.Key][]netip.Prefix) {
	kernel := e.kernel != nil
	for _, b := range bans {
		a := addrs[b.Key]
		e.view.set(name, b.Key, banState{until: b.Until, kind: kindOf(ja, b.Key, len(a), kernel), enforced: true, addrs: a})
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
