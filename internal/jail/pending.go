package jail

import (
	"cmp"
	"slices"
	"time"
)

// Pending is one host's pending hits (weight-expanded, ascending, UTC), saved
// across restarts.
type Pending struct {
	Key  Key
	Hits []time.Time
}

// Pending returns every tracked host's hits inside (now-FindTime, now], least
// recently seen host first, so that restoring them in order rebuilds the same
// eviction order.
func (j *Jail) Pending(now time.Time) []Pending {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	var out []Pending
	for e := j.hosts.tail; e != nil; e = e.prev {
		var hits []time.Time
		for _, t := range e.val.times {
			if t > lo && t <= hi {
				hits = append(hits, fromNanos(t))
			}
		}
		if len(hits) > 0 {
			out = append(out, Pending{Key: e.key, Hits: hits})
		}
	}
	return out
}

// RestorePending puts saved hits back after a restart. Hits at or before
// now-FindTime are dropped; keys that are banned, ignored or own addresses
// are skipped (the ignore lists may have changed since the save). A host keeps
// at most MaxRetry-1 hits, its newest, so that restoring never bans: a ban
// needs a hit that is counted now, with its line as evidence. When more hosts
// are saved than MaxHosts leaves room for, those seen most recently win, and
// no host tracked already is evicted for a saved one.
func (j *Jail) RestorePending(ps []Pending, now time.Time) {
	if j.cfg.MaxRetry < 2 {
		return // every hit bans on its own: nothing is ever pending
	}
	lo := subSat(toNanos(now), j.cfg.FindTime)
	type saved struct {
		key   Key
		times []int64
	}
	var fresh []saved
	for _, p := range ps {
		k := canonical(p.Key)
		if !k.IsValid() || j.bans.has(k) {
			continue
		}
		if _, ign := j.Ignores(k); ign {
			continue
		}
		var times []int64
		for _, t := range p.Hits {
			if n := toNanos(t); n > lo {
				times = append(times, n)
			}
		}
		if len(times) == 0 {
			continue
		}
		slices.Sort(times)
		if e := j.hosts.get(k); e != nil {
			j.merge(&e.val, times)
			continue
		}
		fresh = append(fresh, saved{k, times})
	}
	room := j.cfg.MaxHosts - j.hosts.len()
	if len(fresh) > room {
		slices.SortStableFunc(fresh, func(a, b saved) int {
			return cmp.Compare(a.times[len(a.times)-1], b.times[len(b.times)-1])
		})
		fresh = fresh[len(fresh)-max(room, 0):]
	}
	for _, s := range fresh {
		e := j.hosts.get(s.key) // the same key saved twice
		if e == nil {
			e, _ = j.hosts.insert(s.key)
		}
		j.merge(&e.val, s.times)
	}
}

// merge adds sorted times to w, keeping the newest MaxRetry-1.
func (j *Jail) merge(w *window, times []int64) {
	for _, t := range times {
		w.insert(t, 1, j.cfg.MaxRetry)
		if len(w.times) >= j.cfg.MaxRetry {
			w.times = w.times[:copy(w.times, w.times[1:])]
		}
	}
}
