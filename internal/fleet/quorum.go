package fleet

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/config"
)

// Decision is a fleet ban reached, or lifted, on this host.
type Decision struct {
	Action Action
	Jail   string
	Key    string
	// At is when the quorum was reached (the stream's stamp of the report
	// that completed it, or the local hit that a need_local_hit policy
	// waited for) or when it was lost.
	At time.Time
	// Until is the end of a ban: At plus the policy's bantime.
	Until time.Time
	// Reporters are the subjects' reporters that make the quorum, sorted;
	// for an unban, those left.
	Reporters []string
	// Reason says why a ban was lifted: "withdrawn" (reporters unbanned
	// below the quorum) or "expired".
	Reason string
}

type slot struct{ jail, key string }

// entry is what the fleet said about one key of one jail.
type entry struct {
	votes  map[string]time.Time // reporter → its latest ban report still standing
	banned bool
	until  time.Time
}

// table counts reporters per key and decides fleet bans. It is pure: the
// caller serialises calls and passes the time.
type table struct {
	policies map[string]config.FleetPolicy
	// protected reports keys the fleet must never ban here (ignoreip, own
	// addresses, self_ids).
	protected func(jail, key string) bool
	slots     map[slot]*entry
	hits      map[slot]time.Time // last local hit, for need_local_hit jails
	max       int                // slots and hits each
	dropped   int64              // reports and hits not kept, the table being full
	guarded   int64              // quorums reached on protected keys
}

func newTable(policies map[string]config.FleetPolicy, protected func(jail, key string) bool, max int) *table {
	if protected == nil {
		protected = func(string, string) bool { return false }
	}
	return &table{policies: policies, protected: protected, slots: map[slot]*entry{}, hits: map[slot]time.Time{}, max: max}
}

// observe counts one report. The window is measured back from the report's
// own stamp, so that every host, live or catching up, decides the same from
// the same stream; now only tells a ban that has already ended.
func (t *table) observe(r received, now time.Time) (Decision, bool) {
	pol, ok := t.policies[r.Jail]
	if !ok {
		return Decision{}, false
	}
	s := slot{r.Jail, r.Key}
	e := t.slots[s]
	if e == nil {
		if r.Action == Unban {
			return Decision{}, false
		}
		if len(t.slots) >= t.max {
			t.dropped++
			return Decision{}, false
		}
		e = &entry{votes: map[string]time.Time{}}
		t.slots[s] = e
	}
	// A report older than the reporter's standing one is a replay.
	if last, ok := e.votes[r.Reporter]; ok && !r.At.After(last) {
		return Decision{}, false
	}
	switch r.Action {
	case Ban:
		e.votes[r.Reporter] = r.At
	case Unban:
		delete(e.votes, r.Reporter)
	}
	e.prune(r.At.Add(-pol.Window))
	reporters := e.reporters()
	switch {
	case !e.banned && r.Action == Ban && len(reporters) >= pol.Quorum:
		return t.ban(s, e, pol, r.At, reporters, now)
	case e.banned && r.Action == Unban && len(reporters) < pol.Quorum:
		e.banned = false
		t.forget(s, e)
		return Decision{Action: Unban, Jail: s.jail, Key: s.key, At: r.At, Reporters: reporters, Reason: "withdrawn"}, true
	}
	t.forget(s, e)
	return Decision{}, false
}

func (t *table) ban(s slot, e *entry, pol config.FleetPolicy, at time.Time, reporters []string, now time.Time) (Decision, bool) {
	if pol.NeedLocalHit {
		hit, ok := t.hits[s]
		if !ok || !hit.After(now.Add(-pol.Window)) {
			return Decision{}, false // LocalHit bans it when the hit comes
		}
		if hit.After(at) {
			at = hit
		}
	}
	until := at.Add(pol.BanTime)
	if !until.After(now) {
		return Decision{}, false // a ban that ended while this host was away
	}
	if t.protected(s.jail, s.key) {
		t.guarded++
		return Decision{}, false
	}
	e.banned, e.until = true, until
	return Decision{Action: Ban, Jail: s.jail, Key: s.key, At: at, Until: until, Reporters: reporters}, true
}

// hit notes a local hit of key in jail; for a need_local_hit jail it is the
// hit a standing quorum waited for.
func (t *table) hit(jail, key string, now time.Time) (Decision, bool) {
	pol, ok := t.policies[jail]
	if !ok || !pol.NeedLocalHit {
		return Decision{}, false
	}
	s := slot{jail, key}
	if _, ok := t.hits[s]; !ok && len(t.hits) >= t.max {
		t.dropped++
		return Decision{}, false
	}
	t.hits[s] = now
	e := t.slots[s]
	if e == nil || e.banned {
		return Decision{}, false
	}
	e.prune(now.Add(-pol.Window))
	if reporters := e.reporters(); len(reporters) >= pol.Quorum {
		return t.ban(s, e, pol, now, reporters, now)
	}
	return Decision{}, false
}

// sweep lifts the bans that ended and forgets votes and hits older than
// their jail's window.
func (t *table) sweep(now time.Time) []Decision {
	var out []Decision
	for s, e := range t.slots {
		pol := t.policies[s.jail]
		e.prune(now.Add(-pol.Window))
		if e.banned && !e.until.After(now) {
			e.banned = false
			out = append(out, Decision{Action: Unban, Jail: s.jail, Key: s.key, At: e.until, Reporters: e.reporters(), Reason: "expired"})
		}
		t.forget(s, e)
	}
	for s, at := range t.hits {
		if !at.After(now.Add(-t.policies[s.jail].Window)) {
			delete(t.hits, s)
		}
	}
	slices.SortFunc(out, func(a, b Decision) int { return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key)) })
	return out
}

// forget drops an entry that holds nothing any more.
func (t *table) forget(s slot, e *entry) {
	if !e.banned && len(e.votes) == 0 {
		delete(t.slots, s)
	}
}

func (e *entry) prune(before time.Time) {
	for r, at := range e.votes {
		if !at.After(before) {
			delete(e.votes, r)
		}
	}
}

func (e *entry) reporters() []string { return slices.Sorted(maps.Keys(e.votes)) }

// JailQuorum is what one jail's table holds, for status.
type JailQuorum struct {
	Jail   string `json:"jail"`
	Quorum int    `json:"quorum"`
	// Pending counts keys with at least one standing report and no fleet
	// ban, by how many reporters they have: Pending[n-1] keys have n.
	Pending []int `json:"pending"`
	// Waiting counts keys whose quorum stands without a fleet ban here:
	// protected, waiting for a local hit, or reported after the ban would
	// have ended.
	Waiting int `json:"waiting"`
	Banned  int `json:"banned"`
}

func (t *table) jails() []JailQuorum {
	by := map[string]*JailQuorum{}
	for name, pol := range t.policies {
		by[name] = &JailQuorum{Jail: name, Quorum: pol.Quorum, Pending: make([]int, max(pol.Quorum-1, 0))}
	}
	for s, e := range t.slots {
		q := by[s.jail]
		switch n := len(e.votes); {
		case e.banned:
			q.Banned++
		case n > len(q.Pending):
			q.Waiting++
		case n > 0:
			q.Pending[n-1]++
		}
	}
	out := make([]JailQuorum, 0, len(by))
	for _, name := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[name])
	}
	return out
}
