package daemon

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
)

// fakeTarget is a generation's jails as adoptTarget lends them: engine
// stands for the generation's engine lock.
type fakeTarget struct {
	e        *enforcer
	engine   sync.Mutex
	jails    map[string]bool
	restored []string // jail/prefix, in order
	held     int
	muHeld   bool // mu was held when hold was called: the wrong lock order
}

func (f *fakeTarget) adopts(name string) bool { return f.jails[name] }

func (f *fakeTarget) hold(fn func(restore func(string, jail.Ban) bool)) {
	if !f.e.mu.TryLock() {
		f.muHeld = true
	} else {
		f.e.mu.Unlock()
	}
	f.engine.Lock()
	defer f.engine.Unlock()
	f.held++
	fn(func(name string, b jail.Ban) bool {
		if f.engine.TryLock() {
			panic("restore outside hold")
		}
		if !f.jails[name] {
			return false
		}
		f.restored = append(f.restored, name+" "+b.Key.Prefix.String())
		return true
	})
}

// TestAdoptIntoChangesJailsOnlyThroughHold: the kernel's unknown elements
// go into the jails through the target's hold, taken before the enforcer's
// lock, and into the enforcer's view as enforced; elements the state knew,
// that a decision touched meanwhile, or of jails not adopted, stay out.
func TestAdoptIntoChangesJailsOnlyThroughHold(t *testing.T) {
	e, _, _ := newTestEnforcer(t, firewall.NewFake())
	target := &fakeTarget{e: e, jails: map[string]bool{"ssh": true}}
	p := netip.MustParsePrefix
	at := time.Now()
	a := &adoption{target: target, jails: map[string]bool{"ssh": true, "gone": true},
		known:   map[banID]struct{}{{"ssh", p("192.0.2.1/32")}: {}},
		touched: map[banID]struct{}{{"ssh", p("192.0.2.2/32")}: {}}}
	l := listing{at: at, els: []firewall.Element{
		{Jail: "ssh", Prefix: p("192.0.2.1/32"), Remaining: time.Hour},    // known
		{Jail: "ssh", Prefix: p("192.0.2.2/32"), Remaining: time.Hour},    // touched
		{Jail: "ssh", Prefix: p("192.0.2.3/32"), Remaining: time.Hour},    // adopted
		{Jail: "gone", Prefix: p("192.0.2.4/32"), Remaining: time.Hour},   // no such jail any more
		{Jail: "other", Prefix: p("192.0.2.5/32"), Remaining: time.Hour},  // not adopted
		{Jail: "ssh", Prefix: p("2001:db8::/64"), Remaining: time.Minute}, // adopted
	}}
	puts := e.adoptInto(a, l)

	if target.muHeld {
		t.Error("hold was called with the enforcer's lock held: the lock order is engine, then enforcer")
	}
	if target.held != 1 {
		t.Errorf("hold called %d times, want once per adoption", target.held)
	}
	want := []string{"ssh 192.0.2.3/32", "ssh 2001:db8::/64"}
	if len(target.restored) != len(want) || target.restored[0] != want[0] || target.restored[1] != want[1] {
		t.Errorf("restored %q, want %q", target.restored, want)
	}
	if len(puts) != 2 || puts[0].Key != "192.0.2.3" || !puts[0].Until.Equal(at.Add(time.Hour)) || puts[1].Key != "2001:db8::/64" {
		t.Errorf("bans to save = %+v", puts)
	}
	if enforced, pending := e.counts("ssh"); enforced != 2 || pending != 0 {
		t.Errorf("enforcer's view of ssh: %d enforced, %d pending; want 2, 0", enforced, pending)
	}
	if enforced, _ := e.counts("gone"); enforced != 0 {
		t.Errorf("a jail the generation lacks has %d enforced bans", enforced)
	}
}

// TestRetargetKeepsJailsTheTargetAdopts: a waiting adoption follows the
// generation that replaces the running one, for the jails it still bans in
// nftables.
func TestRetargetKeepsJailsTheTargetAdopts(t *testing.T) {
	e, _, _ := newTestEnforcer(t, firewall.NewFake())
	old := &fakeTarget{e: e, jails: map[string]bool{"ssh": true, "web": true}}
	next := &fakeTarget{e: e, jails: map[string]bool{"ssh": true}}
	e.adopt = &adoption{target: old, jails: map[string]bool{"ssh": true, "web": true}}
	e.retarget(next)
	if e.adopt.target != next || !e.adopt.jails["ssh"] || e.adopt.jails["web"] {
		t.Errorf("after retarget: target is next %v, jails %v; want next and only ssh", e.adopt.target == next, e.adopt.jails)
	}
}
