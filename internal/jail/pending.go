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

// Pending returns every tracked host's hits inside (now-FindTime, now], the
// host whose last hit is oldest first (the eviction order).
func (j *Counter) Pending(now time.Time) []Pending {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	h := &j.hosts
	var out []Pending
	for x := h.tail; x != none; x = h.at(x).next {
		var hits []time.Time
		for _, t := range h.times(x) {
			if t > lo && t <= hi {
				hits = append(hits, fromNanos(t))
			}
		}
		if len(hits) > 0 {
			out = append(out, Pending{Key: h.keyOf(x), Hits: hits})
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
func (j *Counter) RestorePending(ps []Pending, now time.Time) {
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
		if i := j.hosts.get(k); i != none {
			j.merge(i, times)
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
		i := j.hosts.get(s.key) // the same key saved twice
		if i == none {
			i = j.hosts.add(s.key)
		}
		j.merge(i, s.times)
	}
}

// merge adds sorted times to host i's window, keeping the newest MaxRetry-1
// within FindTime of the newest, as count would have.
func (j *Counter) merge(i uint32, times []int64) {
	h := &j.hosts
	old := h.times(i)
	wasLinked := len(old) > 0
	var newest int64
	if wasLinked {
		newest = old[len(old)-1]
	}
	buf := append(j.scratch[:0], old...)
	buf = append(buf, times...)
	slices.Sort(buf)
	lo := subSat(buf[len(buf)-1], j.cfg.FindTime)
	drop := max(len(buf)-(j.cfg.MaxRetry-1), 0)
	for drop < len(buf) && buf[drop] <= lo {
		drop++
	}
	j.scratch = buf
	h.setTimes(i, buf[drop:], j.cfg.MaxRetry-1)
	if wasLinked {
		h.relink(i, newest)
	} else {
		h.link(i)
	}
}
