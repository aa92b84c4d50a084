package jail

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Escalation widens IPv6 bans step by step (ipv6_escalation): one IPv6
// address costs an attacker nothing, a whole /64 or /48 costs neighbours
// their access, so a prefix is banned only once several bans inside it show
// that its holder keeps coming back with new addresses. Policy.IPv6Prefix is
// the length bans start at.
type Escalation struct {
	// Steps are the wider lengths, strictly decreasing, each below
	// IPv6Prefix. Empty: no escalation.
	Steps []int
	// After is how many distinct bans of one length inside one prefix of the
	// next step, within Within, make the next ban there cover that prefix.
	After  int
	Within time.Duration
}

// escalationCap bounds the wider prefixes whose recent bans a jail keeps;
// the prefix whose latest ban is oldest is forgotten first. Each keeps at
// most After bans, and After is at most MaxEscalationAfter: with After 3
// the bookkeeping is about 370 bytes a prefix, 24 MB at the cap (measured
// with runtime.MemStats), a fraction of what maxhosts windows may take.
const (
	escalationCap      = 65536
	MaxEscalationAfter = 1000
)

func (e Escalation) validate(start int) error {
	if len(e.Steps) == 0 {
		return nil
	}
	switch {
	case e.After < 2 || e.After > MaxEscalationAfter:
		return fmt.Errorf("ipv6 escalation after %d is outside 2–%d: %w", e.After, MaxEscalationAfter, ErrPolicy)
	case e.Within <= 0:
		return fmt.Errorf("ipv6 escalation within %v is not positive: %w", e.Within, ErrPolicy)
	}
	prev := start
	for _, s := range e.Steps {
		if s < 1 || s >= prev {
			return fmt.Errorf("ipv6 escalation step /%d is not below /%d: %w", s, prev, ErrPolicy)
		}
		prev = s
	}
	return nil
}

// escalation is a Counter's bookkeeping of recent bans per wider prefix.
type escalation struct {
	levels []int // IPv6Prefix, then the steps; nil when off
	after  int
	within int64
	recent lru[recentBans] // keyed by the wider prefix
}

// recentBans are the latest bans of distinct narrower keys inside one wider
// prefix, oldest first, at most after of them: more could not change what
// armed says.
type recentBans struct {
	keys []netip.Prefix
	at   []int64
}

func newEscalation(cfg Policy) escalation {
	e := cfg.Escalation
	if len(e.Steps) == 0 {
		return escalation{}
	}
	return escalation{
		levels: append([]int{cfg.IPv6Prefix}, e.Steps...),
		after:  e.After,
		within: int64(e.Within),
		recent: newLRU[recentBans](escalationCap),
	}
}

// level is the index in levels of k's length, or -1 for keys that never
// escalate (IPv4, identities, IPv6 narrowed below the jail's length).
func (e *escalation) level(k Key) int {
	if e.levels == nil || !k.Prefix.IsValid() || !k.Prefix.Addr().Is6() {
		return -1
	}
	return slices.Index(e.levels, k.Prefix.Bits())
}

// parent is k's prefix at levels[l+1]; false past the widest step.
func (e *escalation) parent(k Key, l int) (netip.Prefix, bool) {
	if l < 0 || l+1 >= len(e.levels) {
		return netip.Prefix{}, false
	}
	p, _ := k.Prefix.Addr().Prefix(e.levels[l+1]) // cannot fail: IPv6, 1–127
	return p, true
}

// armed reports whether, counting back Within from t, After distinct bans
// fell inside p.
func (e *escalation) armed(p netip.Prefix, t int64) bool {
	en := e.recent.get(Key{Prefix: p})
	if en == nil {
		return false
	}
	n := 0
	for _, at := range en.val.at {
		if at > t-e.within && at <= t {
			n++
		}
	}
	return n >= e.after
}

// record notes a ban of k at t inside its parent prefix, and forgets
// prefixes whose latest ban is more than Within before t.
func (e *escalation) record(k Key, t int64) {
	p, ok := e.parent(k, e.level(k))
	if !ok {
		return
	}
	for e.recent.tail != nil && e.recent.tail.val.newest() <= t-e.within {
		e.recent.remove(e.recent.tail)
	}
	en := e.recent.get(Key{Prefix: p})
	if en == nil {
		en, _ = e.recent.insert(Key{Prefix: p})
		en.val.keys, en.val.at = en.val.keys[:0], en.val.at[:0]
	} else {
		e.recent.touch(en)
	}
	en.val.add(k.Prefix, t, e.after)
}

func (r *recentBans) newest() int64 {
	if len(r.at) == 0 {
		return 0
	}
	return r.at[len(r.at)-1]
}

// add puts key's ban at t in time order, replacing an earlier ban of the
// same key, and keeps the newest max.
func (r *recentBans) add(key netip.Prefix, t int64, max int) {
	if i := slices.Index(r.keys, key); i >= 0 {
		if r.at[i] >= t {
			return
		}
		r.keys = slices.Delete(r.keys, i, i+1)
		r.at = slices.Delete(r.at, i, i+1)
	}
	i, _ := slices.BinarySearch(r.at, t)
	r.keys = slices.Insert(r.keys, i, key)
	r.at = slices.Insert(r.at, i, t)
	if over := len(r.at) - max; over > 0 {
		r.keys = slices.Delete(r.keys, 0, over)
		r.at = slices.Delete(r.at, 0, over)
	}
}

// widen returns the key a ban of k at t covers: the widest armed prefix
// holding k that holds no ignored or own address (else the next narrower
// armed one), or k itself. A prefix is armed by the bans of keys one level
// narrower than it, so a /48 that saw three /64 bans is banned whole on the
// next ban inside it, whatever that ban's own /64 saw. from is k's length
// when it was widened, else 0.
func (j *Counter) widen(k Key, t int64) (wide Key, from int) {
	e := &j.esc
	low := e.level(k)
	if low < 0 {
		return k, 0
	}
	for l := len(e.levels) - 2; l >= low; l-- {
		p, _ := k.Prefix.Addr().Prefix(e.levels[l+1]) // cannot fail: IPv6, 1–127
		if !e.armed(p, t) {
			continue
		}
		if _, ign := j.ignore.overlap(p); ign {
			continue
		}
		return Key{Prefix: p}, k.Prefix.Bits()
	}
	return k, 0
}

// banWidened bans k, or the prefix escalation widens it to, from its window
// i, and records the ban for later escalations.
func (j *Counter) banWidened(k Key, at time.Time, i uint32, hits int) Decision {
	t := toNanos(at)
	wide, from := k, 0
	if j.esc.levels != nil {
		wide, from = j.widen(k, t)
	}
	d := j.ban(wide, at, 0, i, hits)
	if from != 0 {
		d.EscalatedFrom = from
		j.bans.byKey[wide].EscalatedFrom = from
	}
	if j.esc.levels != nil {
		j.esc.record(wide, t)
	}
	return d
}

// coveredByWider reports whether a ban of a wider escalation prefix holding
// k is in force: k's hits then count as those of a banned host.
func (j *Counter) coveredByWider(k Key) bool {
	e := &j.esc
	l := e.level(k)
	for l >= 0 {
		p, ok := e.parent(k, l)
		if !ok {
			return false
		}
		if j.bans.has(Key{Prefix: p}) {
			return true
		}
		l++
	}
	return false
}

// restoreEscalation counts a restored ban among the recent ones, so that a
// restart does not reset escalation while the bans that armed it last.
func (j *Counter) restoreEscalation(b Ban) {
	if j.esc.levels != nil {
		j.esc.record(b.Key, toNanos(b.At))
	}
}
