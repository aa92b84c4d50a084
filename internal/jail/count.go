package jail

import (
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

// Add counts one hit. at is the hit's time as the pipeline resolved it (the
// record's own stamp, its text's, or the time it was read); a zero at falls
// back to h.Time. line is the matched line, copied as evidence (nil keeps
// none). The Decision is valid only when the Verdict is Banned.
//
// The window is exact: hits at or before t-FindTime are dropped, where t is the
// latest hit time seen for the host (the hit's own time unless it arrived out
// of order). A hit too old for the window is counted in the totals but not in
// the window. A weight below 1 counts as 1; a weight above MaxRetry counts as
// MaxRetry, since it bans on its own either way.
//
// Bans end only through Expire, Unban or UnbanAll: a hit for a key whose ban
// has passed its Until but was not yet expired is still AlreadyBanned, so the
// caller should Expire(t) before adding hits at t.
func (j *Jail) Add(h filter.Hit, at time.Time, line []byte) (Decision, Verdict) {
	if at.IsZero() {
		at = h.Time
	}
	k, ok := j.KeyFor(h.Host)
	if !ok {
		return Decision{}, InvalidHost
	}
	weight := min(max(h.Weight, 1), j.cfg.MaxRetry)
	if h.Host.Addr.IsValid() && j.ignore.contains(h.Host.Addr.Unmap().WithZone("")) {
		j.ignored += int64(weight)
		return Decision{}, IgnoredHost
	}
	if j.bans.has(k) {
		return Decision{}, AlreadyBanned
	}
	j.totalHits += int64(weight)
	e := j.track(k)
	hits := j.count(&e.val, toNanos(at), weight)
	// Evidence is kept only once the window is within j.keep hits of a
	// ban. That still keeps the last j.keep lines before any ban: the k-th
	// hit from the end was added while the window already held at least
	// MaxRetry-k+1 hits (every older hit still in the window at the ban was
	// in it then too). Hosts with a few hits, the great majority under a
	// flood of distinct peers, then cost no copy of their lines.
	if line != nil && hits > j.cfg.MaxRetry-j.keep {
		e.val.addLine(line, j.keep)
	}
	if hits < j.cfg.MaxRetry {
		return Decision{}, Counted
	}
	d := j.ban(k, at, 0, &e.val, hits)
	j.hosts.remove(e)
	return d, Banned
}

// count slides w to a hit at t and returns how many hits the window holds with
// it. The hit is stored only when it does not ban: a ban drops the window.
func (j *Jail) count(w *window, t int64, weight int) int {
	ref := t
	if len(w.times) > 0 {
		ref = max(ref, w.newest())
	}
	lo := subSat(ref, j.cfg.FindTime)
	w.drop(lo)
	if t <= lo {
		return len(w.times) // too late for the window
	}
	hits := len(w.times) + weight
	if hits < j.cfg.MaxRetry {
		w.insert(t, weight, j.cfg.MaxRetry-1)
	}
	return hits
}

// track returns k's window, most recently seen now, evicting the least
// recently seen host at MaxHosts and reusing its buffers.
func (j *Jail) track(k Key) *entry[window] {
	if e := j.hosts.get(k); e != nil {
		j.hosts.touch(e)
		return e
	}
	e, evicted := j.hosts.insert(k)
	if evicted {
		j.evicted++
		e.val.reset()
	}
	return e
}
