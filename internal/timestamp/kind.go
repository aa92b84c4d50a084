package timestamp

// kind is the format a timestamp was written in. Named datepatterns accept
// some kinds only.
type kind uint8

const (
	kindNone    kind = iota
	kindISO          // ISO 8601 / RFC 3339 date and time: 2024-07-27T00:00:00.014Z
	kindGoLog        // the same with a '/' date, as Go's log package writes: 2024/07/27 00:00:00
	kindCLF          // common log format: [27/Jul/2024:00:00:00 +0000]
	kindSyslog       // Jul 27 00:00:00
	kindEpoch        // epoch number at the start of the line
	kindAudit        // epoch number in auditd's msg=audit(1722038400.123:42)
	kindJSON         // value of a top-level time key of a JSON object
	kindLogfmt       // value of a leading logfmt time key (slog's time=, go-kit's ts=)
	kindLevel        // level then bracketed stamp: DEBUG[12-01|08:56:14.717], E[2026-12-01|08:56:14.717]
	kindPattern      // an operator's strftime pattern
)

// kinds is a set of kinds.
type kinds uint32

func (k kind) in(set kinds) bool { return set&(1<<k) != 0 }

func setOf(ks ...kind) kinds {
	var set kinds
	for _, k := range ks {
		set |= 1 << k
	}
	return set
}

var (
	keyKinds = setOf(kindJSON, kindLogfmt)
	allKinds = setOf(kindISO, kindGoLog, kindCLF, kindSyslog, kindEpoch, kindAudit, kindLevel) | keyKinds
)

// Epoch numbers by their count of integer digits: seconds, milliseconds,
// microseconds, nanoseconds.
const (
	epochS   = 1 << 0
	epochMS  = 1 << 1
	epochUS  = 1 << 2
	epochNS  = 1 << 3
	epochAll = epochS | epochMS | epochUS | epochNS
)

func epochBit(digits int8) uint8 {
	switch digits {
	case 10:
		return epochS
	case 13:
		return epochMS
	case 16:
		return epochUS
	case 19:
		return epochNS
	}
	return 0
}

// spec says which timestamps a detector accepts: all of them in automatic
// mode, fewer for a named datepattern.
type spec struct {
	kinds    kinds
	epochs   uint8 // epoch digit counts accepted (epochS, ...)
	dates    bool  // whether date-times (not epoch numbers) are accepted
	anchored bool  // only at the very start of the line
}

var automatic = spec{kinds: allKinds, epochs: epochAll, dates: true}

func (sp *spec) accepts(s *stamp) bool {
	if !s.kind.in(sp.kinds) || (sp.anchored && s.pos != 0) {
		return false
	}
	if s.epoch {
		return sp.epochs&epochBit(s.digits) != 0
	}
	return sp.dates
}
