package timestamp

// kind is where and how a timestamp was found. A Detector caches the kind
// that won on one line and searches for that kind first on the next.
type kind uint8

const (
	kindNone   kind = iota
	kindISO         // ISO 8601 / RFC 3339 date and time anywhere in the scanned prefix
	kindGoLog       // the same with a '/' date, as Go's log package writes: 2024/07/27 00:00:00
	kindCLF         // common log format: 27/Jul/2024:00:00:00 +0000
	kindSyslog      // Jul 27 00:00:00
	kindEpoch       // epoch number at the start of the line
	kindAudit       // epoch number in auditd's audit(1722038400.123:42)
	// Values of time keys; the order matches keyText.
	kindJSONTime
	kindJSONTS
	kindJSONTimestamp
	kindJSONAtTimestamp
	kindTextTime
	kindTextTS
	kindTextTimestamp
	kindPattern // an operator's strftime pattern; never cached
)

const firstKey, lastKey = kindJSONTime, kindTextTimestamp

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
	clockKinds = setOf(kindISO, kindGoLog, kindCLF, kindSyslog)
	keyKinds   = setOf(kindJSONTime, kindJSONTS, kindJSONTimestamp, kindJSONAtTimestamp,
		kindTextTime, kindTextTS, kindTextTimestamp)
	allKinds = clockKinds | keyKinds | setOf(kindEpoch, kindAudit)
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
	anchored bool  // only at the start of the line
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

// better reports whether a should win over b: finer resolution first (a
// relay's syslog prefix loses to the program's own stamp with milliseconds),
// then the value of a time key over free text, then the earlier one.
func better(a, b *stamp) bool {
	if a.res != b.res {
		return a.res > b.res
	}
	if a.keyed != b.keyed {
		return a.keyed
	}
	return a.pos < b.pos
}

// picker keeps the best stamp offered in *best.
type picker struct {
	best  *stamp
	found bool
}

func (p *picker) offer(s *stamp) {
	if !p.found || better(s, p.best) {
		*p.best, p.found = *s, true
	}
}
