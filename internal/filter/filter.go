// Package filter turns log lines into hits: which rule matched and which host it blames.
package filter

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/rematch"
)

// Outcome says what a filter made of a line.
type Outcome uint8

const (
	// Miss: no failure pattern matched.
	Miss Outcome = iota
	// Match: a failure pattern matched and named a host; the Hit is valid.
	Match
	// Ignored: a failure pattern matched but an ignore pattern also did.
	Ignored
	// NoHost: a failure pattern matched but named no usable host (the field is
	// missing, or its text is not an address).
	NoHost
	// Unparsed: the line could not be read as the filter expects (broken JSON).
	Unparsed
	// Learned: no failure, but a learn or self pattern matched: the Hit
	// carries what the line teaches (Host.Addr with ID, or SelfID) and
	// counts against no one.
	Learned
)

func (o Outcome) String() string {
	switch o {
	case Miss:
		return "miss"
	case Match:
		return "match"
	case Ignored:
		return "ignored"
	case NoHost:
		return "nohost"
	case Unparsed:
		return "unparsed"
	case Learned:
		return "learned"
	}
	return "unknown"
}

// Host is whom a hit blames: an address, or for <ID> patterns an identity.
// Exactly one of Addr and ID is set.
type Host struct {
	Addr netip.Addr
	ID   string
}

// IsValid reports whether h names anyone.
func (h Host) IsValid() bool { return h.Addr.IsValid() || h.ID != "" }

func (h Host) String() string {
	if h.Addr.IsValid() {
		return h.Addr.String()
	}
	return h.ID
}

// Hit is one failure attributed to a host.
type Hit struct {
	// Host is whom a jail keyed by address blames: the address the program
	// wrote for the peer or, when that is a relay's or missing, the identity.
	Host Host
	// ID is the identity the line names beside the address (the <ID> group,
	// the id: field), whether or not Host is that identity; empty when the
	// filter captures none. A line with both Host.Addr and ID teaches the
	// correlation table; a jail keyed by identity blames ID.
	//
	// ID and SelfID may share memory with the line's Text (most lines of a
	// busy log name a peer once, and copying each name was a tenth of the
	// cost of a line): like Text, they are valid until the line's buffer is
	// reused. Whatever keeps one longer copies it (strings.Clone).
	ID string
	// SelfID is an identity the line says is the node's own (flow-go's
	// node_id, a self pattern's <ID>): never to be banned.
	SelfID string
	// AlsoID is, on a Learned line, another identity of the peer that ID
	// names (JSONSpec.AlsoID), at the same address; it shares the line's
	// memory like ID.
	AlsoID string
	// Rule is the index of the pattern (regex) or 0 (json) that matched.
	Rule int
	// Time is the time the filter found in the record itself (a JSON time field);
	// zero when the caller must take it from the line's text or the Line.
	Time time.Time
	// Weight is how many failures this hit counts as (at least 1).
	Weight int
	// Prefix is what the filter found out about the line's relay prefix
	// (logprefix.Parse), for the timestamp detector not to parse it again:
	// 1 + where the program's message starts, -1 for a line without one,
	// 0 when the filter did not look.
	Prefix int
}

// Filter decides whether a line is a failure and whom it blames. Implementations
// are safe for concurrent use: the pipeline matches lines on several goroutines.
type Filter interface {
	Match(l *logline.Line) (Hit, Outcome)
}

// IntoMatcher is a Filter that can also write its Hit into the caller's
// memory: MatchInto(l, h) returns what Match(l) returns, the Hit in *h,
// which it leaves alone on a Miss. A Hit is 136 bytes, and returning one
// by value for every line (most lines of a log are misses) zeroed and
// copied it three times: most of the pipeline's matching loop's own 3.6%
// of a libp2p replay's CPU samples, 1.4% with MatchInto.
type IntoMatcher interface {
	Filter
	MatchInto(l *logline.Line, h *Hit) Outcome
}

// ScratchMatcher is an IntoMatcher that can also work in the caller's
// Scratch: MatchScratch(l, h, sc) is MatchInto(l, h). A caller matching
// on several goroutines gives each its own Scratch.
type ScratchMatcher interface {
	IntoMatcher
	MatchScratch(l *logline.Line, h *Hit, sc *Scratch) Outcome
}

// Scratch is the working memory of a filter's matches on one goroutine:
// the regex engine's (rematch.Scratch), which it takes from a pool shared
// by all goroutines otherwise. The zero value is ready; one Scratch serves
// any filters, one line at a time.
type Scratch struct{ re rematch.Scratch }

// matcher returns the rematch memory of sc, nil (the pool) for a nil sc.
func (sc *Scratch) matcher() *rematch.Scratch {
	if sc == nil {
		return nil
	}
	return &sc.re
}

// MatchInto runs f on l like Match, through MatchInto when f has it.
func MatchInto(f Filter, l *logline.Line, h *Hit) Outcome {
	if im, ok := f.(IntoMatcher); ok {
		return im.MatchInto(l, h)
	}
	hit, out := f.Match(l)
	if out != Miss {
		*h = hit
	}
	return out
}

// PatternError reports which part of a Spec failed to compile, so the config
// package can point at the YAML node that holds it.
type PatternError struct {
	// Field is "fail", "ignore", "prefix" or "match".
	Field string
	// Index is the position in Fail, Ignore or Match (0 for prefix).
	Index int
	Err   error
}

func (e *PatternError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.Field, e.Index, e.Err) }
func (e *PatternError) Unwrap() error { return e.Err }

// New compiles a Spec into a Filter.
func New(s Spec) (Filter, error) {
	switch {
	case s.Regex != nil && s.JSON != nil:
		return nil, fmt.Errorf("filter %q: has both regex and json; give one", s.Name)
	case s.Regex != nil:
		return NewRegex(s.Name, s.Regex)
	case s.JSON != nil:
		return NewJSON(s.Name, s.JSON)
	}
	return nil, fmt.Errorf("filter %q: needs regex or json", s.Name)
}
