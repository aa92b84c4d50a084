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
// MaxRetry, since it bans on its own either way. Every hit that is not
// ignored counts in TotalHits, also those of hosts already banned.
//
// Bans end only through Expire, Unban or UnbanAll: a hit for a key whose ban
// has passed its Until but was not yet expired is still AlreadyBanned, so the
// caller should Expire(t) before adding hits at t.
func (j *Counter) Add(h filter.Hit, at time.Time, line []byte) (Decision, Verdict) {
	if at.IsZero() {
		at = h.Time
	}
	var d Decision
	v := j.add(&d, &h, at, at, line)
	return d, v
}

// AddLive counts one hit like Add, but a ban it makes starts at now, the
// daemon's clock, not at the hit's own time: a live hit's stamp only places
// it in its window, and a ban that started when a line was written (up to
// findtime ago) would end early.
func (j *Counter) AddLive(h filter.Hit, at, now time.Time, line []byte) (Decision, Verdict) {
	banAt := now
	if at.After(now) {
		banAt = at
	}
	var d Decision
	v := j.add(&d, &h, at, banAt, line)
	return d, v
}

// AddHit is Add for a caller that keeps its hits in its own memory, as the
// pipeline does: the hit is read through h (a Hit is 136 bytes, and Add's
// copy of it was a share of the counting), *d is set only when the Verdict
// is Banned, and the key the hit counted towards is returned (valid unless
// the Verdict is InvalidHost), which the caller's tally of matches by key
// would otherwise compute again (KeyOf).
func (j *Counter) AddHit(d *Decision, h *filter.Hit, at time.Time, line []byte) (Key, Verdict) {
	if at.IsZero() {
		at = h.Time
	}
	return j.addKeyed(d, h, at, at, line)
}

// AddLiveHit is AddLive as AddHit is Add.
func (j *Counter) AddLiveHit(d *Decision, h *filter.Hit, at, now time.Time, line []byte) (Key, Verdict) {
	banAt := now
	if at.After(now) {
		banAt = at
	}
	return j.addKeyed(d, h, at, banAt, line)
}

// add counts h and, when it bans, sets d. A Decision is some 240 bytes: one
// returned through each call would be cleared and copied at every level on
// every hit, though only a ban fills it.
func (j *Counter) add(d *Decision, h *filter.Hit, at, banAt time.Time, line []byte) Verdict {
	_, v := j.addKeyed(d, h, at, banAt, line)
	return v
}

// addKeyed is add, also returning the key it counted h towards.
func (j *Counter) addKeyed(d *Decision, h *filter.Hit, at, banAt time.Time, line []byte) (Key, Verdict) {
	k, ok := j.KeyOf(h)
	if !ok {
		return Key{}, InvalidHost
	}
	weight := min(max(h.Weight, 1), j.cfg.MaxRetry)
	if k.ID == "" && j.ignore.contains(h.Host.Addr.Unmap().WithZone("")) || k.ID != "" && j.isSelfID(k.ID) {
		j.ignored += int64(weight)
		return k, IgnoredHost
	}
	return k, j.addKey(d, k, weight, at, banAt, line)
}

// addKey counts a hit of weight on k, which is not ignored, and sets d when
// it bans.
func (j *Counter) addKey(d *Decision, k Key, weight int, at, banAt time.Time, line []byte) Verdict {
	j.totalHits += int64(weight)
	if j.bans.has(k) || (j.esc.levels != nil && j.coveredByWider(k)) {
		return AlreadyBanned
	}
	i := j.track(k)
	t := toNanos(at)
	hits := j.count(i, t, weight)
	// Evidence is kept only once the window is within j.keep hits of a
	// ban. That still keeps the last j.keep lines before any ban: the k-th
	// hit from the end was added while the window already held at least
	// MaxRetry-k+1 hits (every older hit still in the window at the ban was
	// in it then too). Hosts with a few hits under a high maxretry then cost
	// no line.
	if line != nil && hits > j.cfg.MaxRetry-j.keep {
		ref := j.hosts.lineRef(i)
		*ref = j.lines.add(*ref, line, t)
	}
	if hits < j.cfg.MaxRetry {
		return Counted
	}
	// The window's own copy of the key: a hit's identity may share the
	// line's memory, and the ban outlives the line.
	k = j.hosts.keyOf(i)
	*d = j.banWidened(k, banAt, i, hits)
	j.hosts.remove(i)
	return Banned
}

// track returns k's slot, evicting the host whose last hit is oldest at
// MaxHosts. A new host's slot holds no hits and is not linked yet.
func (j *Counter) track(k Key) uint32 {
	if i := j.hosts.get(k); i != none {
		return i
	}
	if j.hosts.len() >= j.cfg.MaxHosts && j.hosts.tail != none {
		j.hosts.remove(j.hosts.tail)
		j.evicted++
	}
	return j.hosts.add(k)
}
