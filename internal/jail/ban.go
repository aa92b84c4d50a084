package jail

import (
	"math"
	"slices"
	"time"
)

// banLength is BanTime × Factor^prev, capped at MaxTime (or, without one, at
// the longest Duration) when the factor grows bans at all.
func (j *Counter) banLength(prev int) time.Duration {
	inc := j.cfg.Increment
	if inc.Factor <= 1 {
		return j.cfg.BanTime
	}
	limit := time.Duration(math.MaxInt64)
	if inc.MaxTime > 0 {
		limit = inc.MaxTime
	}
	d := float64(j.cfg.BanTime) * math.Pow(inc.Factor, float64(max(prev, 0)))
	if !(d < float64(limit)) {
		return limit
	}
	return time.Duration(d)
}

// ban records a new offence and an active ban for k. i is k's window (none
// for a manual ban of a host with no pending hits), whose lines become the
// evidence; the caller ends it.
func (j *Counter) ban(k Key, at time.Time, d time.Duration, i uint32, hits int) Decision {
	prev := j.offenceCount(k)
	if d <= 0 {
		d = j.banLength(prev)
	}
	b := Ban{Key: k, At: at, Until: at.Add(d), Offences: prev}
	if k.ID != "" {
		b.Addrs = j.identityAddrs(k.ID, at)
	}
	if prev < math.MaxInt {
		b.Offences++
	}
	j.setOffences(k, b.Offences)
	j.bans.put(b)
	j.totalBanned++
	dec := Decision{
		Action: ActionBan, Jail: j.cfg.Name, Key: k,
		At: b.At, Until: b.Until, Duration: d,
		Hits: hits, Offences: b.Offences, Addrs: slices.Clone(b.Addrs),
	}
	if i != none {
		dec.Evidence = j.lines.lines(*j.hosts.lineRef(i), j.keep)
	}
	return dec
}

// Ban bans k by hand from at for d; d <= 0 means the length the policy
// computes for this key. It counts as an offence and replaces any active ban
// of k. It bypasses IgnoreIP: the operator asked for it. An invalid key yields
// a zero Decision.
func (j *Counter) Ban(k Key, at time.Time, d time.Duration) Decision {
	k = canonical(k)
	if !k.IsValid() {
		return Decision{}
	}
	i := j.hosts.get(k)
	if i == none {
		return j.ban(k, at, d, none, 0)
	}
	dec := j.ban(k, at, d, i, len(j.hosts.times(i)))
	j.hosts.remove(i)
	return dec
}

// Unban lifts k's ban at at; false if k is not banned.
func (j *Counter) Unban(k Key, at time.Time) (Decision, bool) {
	b, ok := j.bans.remove(canonical(k))
	if !ok {
		return Decision{}, false
	}
	return j.unbanDecision(b, at), true
}

// UnbanAll lifts every ban at at, in the order they would have ended.
func (j *Counter) UnbanAll(at time.Time) []Decision {
	bans := j.bans.sorted()
	if len(bans) == 0 {
		return nil
	}
	out := make([]Decision, len(bans))
	for i, b := range bans {
		j.bans.remove(b.Key)
		out[i] = j.unbanDecision(b, at)
	}
	return out
}

// Expire lifts and returns every ban ending at or before now, by end time; each
// unban's At is its ban's Until.
func (j *Counter) Expire(now time.Time) []Decision {
	var out []Decision
	for {
		b, ok := j.bans.popDue(now)
		if !ok {
			return out
		}
		out = append(out, j.unbanDecision(b, b.Until))
	}
}

// NextExpiry is when the first active ban ends; false when none is active.
func (j *Counter) NextExpiry() (time.Time, bool) {
	b, ok := j.bans.next()
	return b.Until, ok
}

func (j *Counter) unbanDecision(b Ban, at time.Time) Decision {
	return Decision{Action: ActionUnban, Jail: j.cfg.Name, Key: b.Key, At: at, Addrs: b.Addrs}
}

// Restore re-adds a ban loaded from the state store after a restart. It is not
// a new offence, but offender history is raised to b.Offences if lower. Any
// pending window of the key is dropped, as after any ban.
func (j *Counter) Restore(b Ban) {
	b.Key = canonical(b.Key)
	if !b.Key.IsValid() {
		return
	}
	if b.Offences > j.offenceCount(b.Key) {
		j.setOffences(b.Key, b.Offences)
	}
	if i := j.hosts.get(b.Key); i != none {
		j.hosts.remove(i)
	}
	b.Addrs = slices.Clone(b.Addrs)
	j.bans.put(b)
	j.restoreEscalation(b)
}

// Bans returns the active bans, by end time.
func (j *Counter) Bans() []Ban { return j.bans.sorted() }

// SetOffences restores k's offender history: n earlier bans; n <= 0 forgets it.
func (j *Counter) SetOffences(k Key, n int) {
	k = canonical(k)
	if !k.IsValid() {
		return
	}
	if n <= 0 {
		if e := j.offences.get(k); e != nil {
			j.offences.remove(e)
		}
		return
	}
	j.setOffences(k, n)
}

func (j *Counter) offenceCount(k Key) int {
	if e := j.offences.get(k); e != nil {
		return e.val
	}
	return 0
}

// setOffences records n for k as the most recent history entry; at MaxHosts
// the history of the key banned longest ago is dropped.
func (j *Counter) setOffences(k Key, n int) {
	e := j.offences.get(k)
	if e != nil {
		j.offences.touch(e)
	} else {
		e, _ = j.offences.insert(k)
	}
	e.val = n
}
