package jail

import (
	"cmp"
	"slices"
	"time"
)

// Stats are a jail's counters for `status` and metrics. Hit counts are
// weighted: a hit of weight w counts w times, as it does in the window.
type Stats struct {
	Failing     int   // hosts with at least one hit inside (now-FindTime, now]
	TotalHits   int64 // hits counted since start (not ignored, not already banned)
	Banned      int   // currently banned
	TotalBanned int64 // bans since start, manual ones included, restored ones not
	Tracked     int   // hosts with pending windows
	Evicted     int64 // windows dropped at MaxHosts
	Ignored     int64 // IgnoredHost hits
}

// Offender is a host with pending hits, for `status`.
type Offender struct {
	Key  Key
	Hits int       // hits inside (now-FindTime, now]
	Last time.Time // the latest of them, in UTC
}

// Stats walks the tracked hosts to count the failing ones: status is rare,
// and keeping that count live would cost every Add.
func (j *Jail) Stats(now time.Time) Stats {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	failing := 0
	for e := j.hosts.head; e != nil; e = e.next {
		if n, _ := e.val.countIn(lo, hi); n > 0 {
			failing++
		}
	}
	return Stats{
		Failing:     failing,
		TotalHits:   j.totalHits,
		Banned:      j.bans.len(),
		TotalBanned: j.totalBanned,
		Tracked:     j.hosts.len(),
		Evicted:     j.evicted,
		Ignored:     j.ignored,
	}
}

// Failing returns up to n hosts (all when n <= 0) with hits inside
// (now-FindTime, now], most hits first, then most recent first.
func (j *Jail) Failing(now time.Time, n int) []Offender {
	hi := toNanos(now)
	lo := subSat(hi, j.cfg.FindTime)
	var out []Offender
	for e := j.hosts.head; e != nil; e = e.next {
		if hits, last := e.val.countIn(lo, hi); hits > 0 {
			out = append(out, Offender{Key: e.key, Hits: hits, Last: fromNanos(last)})
		}
	}
	slices.SortFunc(out, func(a, b Offender) int {
		if c := cmp.Compare(b.Hits, a.Hits); c != 0 {
			return c
		}
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return cmp.Compare(a.Key.String(), b.Key.String())
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Prune forgets the windows whose hits all lie at or before now-FindTime and
// returns how many it dropped. Without it such windows linger until evicted at
// MaxHosts; a daemon calls it now and then to give the memory back. It walks
// from the least recently seen host and stops at the first one still pending,
// so it costs only what it drops.
func (j *Jail) Prune(now time.Time) int {
	lo := subSat(toNanos(now), j.cfg.FindTime)
	n := 0
	for e := j.hosts.tail; e != nil && e.val.newest() <= lo; e = j.hosts.tail {
		j.hosts.remove(e)
		n++
	}
	return n
}
