package pipeline

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
)

// maxLearnedSelf bounds the own identities learned from lines: a node has
// one or two (a node ID, a peer ID), and a line that could make the set grow
// without end would let whoever writes it exempt themselves.
const maxLearnedSelf = 8

// identities is what the engine knows about identities across its jails:
// the correlation table and the node's own identities.
type identities struct {
	table *correlate.Table
	self  []string // configured, then learned
	fixed int      // how many of self are configured
}

func newIdentities(t *correlate.Table, self []string) identities {
	if t == nil {
		t = correlate.New(correlate.Config{})
	}
	self = slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(self), func(s string) bool { return s == "" }))))
	return identities{table: t, self: self, fixed: len(self)}
}

// Correlation is the engine's identity → addresses table.
func (e *Engine) Correlation() *correlate.Table { return e.ids.table }

// SelfIDs are the node's own identities: configured, then learned from its
// lines. Call it from inside Do.
func (e *Engine) SelfIDs() []string { return slices.Clone(e.ids.self) }

// teach learns what a hit's line says about identities, before the hit is
// counted: the node's own identity, and an identity's own address, which
// extends any ban of that identity to it. Only the first jail of a filter
// group teaches; at is the time the line counts at.
func (e *Engine) teach(h *filter.Hit, at time.Time) {
	if h.SelfID != "" {
		e.learnSelf(h.SelfID)
	}
	if h.ID == "" || !h.Host.Addr.IsValid() || at.IsZero() {
		return
	}
	// Filters matching the same line mostly read the same identity and
	// address from it: learning them again at the same time, with no ban
	// made since, changes nothing in the table and extends no ban.
	if m := &e.taught; m.line == e.line && m.bans == e.bans && m.at.Equal(at) && m.addr == h.Host.Addr && m.id == h.ID && m.alsoID == h.AlsoID {
		return
	}
	e.ids.table.Learn(h.ID, h.Host.Addr, at)
	e.extend(h.ID, h.Host.Addr, at)
	if h.AlsoID != "" {
		e.ids.table.Learn(h.AlsoID, h.Host.Addr, at)
		e.extend(h.AlsoID, h.Host.Addr, at)
	}
	e.taught = taught{line: e.line, bans: e.bans, id: h.ID, alsoID: h.AlsoID, addr: h.Host.Addr, at: at}
}

// taught is the last identity and address a line taught. id may share the
// line's memory: it is compared only while line is the one counted.
type taught struct {
	line, bans uint64
	id, alsoID string
	addr       netip.Addr
	at         time.Time
}

// extend bans a with identity id in every jail where id is banned.
func (e *Engine) extend(id string, a netip.Addr, at time.Time) {
	for _, jl := range e.jails {
		if jl.Counter == nil || !jl.Counter.HasIdentityBans() {
			continue
		}
		if d, ok := jl.Counter.SeenAt(id, a, at); ok {
			e.emit(d)
		}
	}
}

func (e *Engine) learnSelf(id string) {
	if slices.Contains(e.ids.self, id) || len(e.ids.self)-e.ids.fixed >= maxLearnedSelf {
		return
	}
	e.ids.self = append(e.ids.self, strings.Clone(id)) // id shares its line's memory
	for _, jl := range e.jails {
		if jl.Counter != nil {
			jl.Counter.SetSelfIDs(e.ids.self)
		}
	}
}

// learnTime is when a line that counts against no one teaches: like a hit's
// time, but counting nothing and moving no clock.
func (e *Engine) learnTime(jl *Lane, src *Source, r *result, now time.Time) time.Time {
	if e.opts.Now != nil {
		if !r.dated || r.read || r.at.Sub(now) > jl.skew() || now.Sub(r.at) > jl.findTime {
			return now
		}
		return r.at
	}
	if !r.dated {
		return time.Time{}
	}
	if r.at.Sub(src.ref()) <= jl.skew() && (src.latest.IsZero() || src.latest.Sub(r.at) <= jl.findTime) {
		return r.at
	}
	if !src.latest.IsZero() {
		return src.latest
	}
	return e.logTime
}
