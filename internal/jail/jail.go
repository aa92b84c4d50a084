// Package jail counts failures per host and decides bans.
//
// It is pure logic: no I/O, no goroutines, no clock reads; every method takes
// the time. A Counter is used from one goroutine (the pipeline counts hits
// in order), so it does no locking.
package jail

import (
	"net/netip"
	"time"

	"github.com/peerjail/peerjail/internal/correlate"
)

// Action is what a Decision asks the enforcer to do.
type Action uint8

// The zero Action is deliberately invalid, so a zero Decision asks for nothing.
// The names carry the Action prefix because Ban is taken by the ban record.
const (
	ActionBan Action = iota + 1
	ActionUnban
)

func (a Action) String() string {
	switch a {
	case ActionBan:
		return "ban"
	case ActionUnban:
		return "unban"
	}
	return "unknown"
}

// Verdict says what Add made of a hit.
type Verdict uint8

const (
	// Counted: the hit went into the host's window without banning it.
	Counted Verdict = iota
	// Banned: the hit completed the window; the Decision is valid.
	Banned
	// AlreadyBanned: the host is banned, the hit is not counted.
	AlreadyBanned
	// IgnoredHost: the address is inside an ignoreip prefix, or the
	// identity is one of the node's own.
	IgnoredHost
	// InvalidHost: the hit names no one (a filter bug); counting it under a
	// zero key would ban nothing useful and lump unrelated hits together.
	InvalidHost
)

func (v Verdict) String() string {
	switch v {
	case Counted:
		return "counted"
	case Banned:
		return "banned"
	case AlreadyBanned:
		return "already-banned"
	case IgnoredHost:
		return "ignored-host"
	case InvalidHost:
		return "invalid-host"
	}
	return "unknown"
}

// Decision is a ban or unban for the enforcer, the store and the reports.
type Decision struct {
	Action Action
	Jail   string
	Key    Key
	// At is, for a ban, the decisive hit's time (or the manual ban's time); for
	// an unban, the ban's end (or the manual unban's time).
	At       time.Time
	Until    time.Time     // ban only
	Duration time.Duration // ban only: Until - At
	Hits     int           // ban: weighted hits in the window at the ban
	Offences int           // ban: times this key has been banned, this one included
	Evidence []string      // ban: last matched lines, oldest first
	// Addrs are, for a decision on an identity, the addresses it was seen
	// at (the correlation table), which the jail's address actions ban and
	// unban with it: keyed like the jail's address keys (/32, the jail's
	// IPv6 prefix), never one the jail ignores. A ban carries those seen
	// within the correlation TTL before it; a further ban Decision with the
	// same Key, At the line's time and the ban's Until carries only an
	// address the identity showed up at while banned (Hits 0); the unban
	// carries every address the ban covered.
	Addrs []netip.Prefix
	// EscalatedFrom is, for a ban that ipv6_escalation widened to the
	// prefix Key, the length the key had before; 0 for any other.
	EscalatedFrom int
	// Source is "fleet" for a decision the fleet's quorum made (the
	// daemon's, not the counter's); Reporters are then those that made it.
	Source    string
	Reporters []string
}

// Counter counts hits per host key in a sliding window and bans hosts that
// reach MaxRetry hits within FindTime: the counting of one jail.
type Counter struct {
	cfg      Policy
	self     []netip.Prefix // this host's own addresses (SetSelf)
	ignore   ignoreSet
	keep     int       // evidence lines kept per host
	hosts    hostTable // pending windows
	lines    lineRing  // their evidence
	scratch  []int64   // for rebuilding a window without allocating
	offences lru[int]  // bans so far per key, kept apart from windows
	bans     banSet
	esc      escalation          // recent bans per wider IPv6 prefix
	corr     *correlate.Table    // identity → addresses (SetCorrelation)
	selfIDs  map[string]struct{} // own identities (SetSelfIDs)

	totalHits, totalBanned, evicted, ignored int64
}

// NewCounter returns an empty counter for cfg, with defaults applied to zero
// IPv6Prefix and MaxHosts. Errors wrap ErrPolicy.
func NewCounter(cfg Policy) (*Counter, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Counter{
		cfg:      cfg,
		ignore:   newIgnoreSet(cfg.IPv6Prefix, cfg.IgnoreIP, nil),
		keep:     min(maxEvidence, cfg.MaxRetry),
		hosts:    newHostTable(int64(cfg.FindTime), cfg.MaxHosts),
		lines:    newLineRing(cfg.MaxHosts),
		scratch:  make([]int64, 0, min(cfg.MaxRetry, 16)),
		offences: newLRU[int](cfg.MaxHosts),
		bans:     newBanSet(),
		esc:      newEscalation(cfg),
	}, nil
}

// Name is the jail's name as Decisions carry it.
func (j *Counter) Name() string { return j.cfg.Name }

// Policy returns the policy in force, defaults applied.
func (j *Counter) Policy() Policy {
	c := j.cfg
	c.IgnoreIP = append([]netip.Prefix(nil), c.IgnoreIP...)
	c.Escalation.Steps = append([]int(nil), c.Escalation.Steps...)
	return c
}
