package timestamp

// Two node programs write their level before a bracketed stamp:
//
//	DEBUG[12-01|08:56:14.717] Message    go-ethereum's terminal format (log/format.go:
//	INFO [12-01|08:56:14.717] Message    LevelAlignedString, then termTimeFormat
//	                                     "01-02|15:04:05.000"), no year
//	E[2026-12-01|08:56:14.717] Message   CometBFT/Tendermint (libs/log/tmfmt_logger.go:
//	                                     "%c[%s] ", "2006-01-02|15:04:05.000")
//
// Both write local time without a zone. The level is the program's own
// word, so the stamp is read only where that word starts: the line's start
// or the program's message after a relay's prefix.

// maxLevel is the longest level word: go-ethereum's "TRACE", "DEBUG", "ERROR".
const maxLevel = 5

// parseLevelAt reads an upper-case level of 1 to maxLevel letters at b[p:],
// an optional pad space, and a bracketed "[MM-DD|hh:mm:ss]" or
// "[YYYY-MM-DD|hh:mm:ss]" with an optional fraction.
func parseLevelAt(b []byte, p int, s *stamp) bool {
	i := levelEnd(b, p)
	if i < 0 {
		return false
	}
	e := -1
	switch {
	case i+14 <= len(b) && b[i+2] == '-' && b[i+5] == '|':
		*s = stamp{yearless: true}
		e = levelDate(b, i, s)
	case i+19 <= len(b) && b[i+4] == '-' && b[i+10] == '|':
		*s = stamp{}
		var ok bool
		if s.year, ok = num4(b, i); ok {
			e = levelDate(b, i+5, s)
		}
	}
	if e < 0 || e >= len(b) || b[e] != ']' || !s.validClock() {
		return false
	}
	s.pos, s.end, s.kind = p, e+1, kindLevel
	return true
}

// levelEnd returns where the stamp starts after a level and its '[' at
// b[p:] ("DEBUG[", "INFO [", "E["), or -1.
func levelEnd(b []byte, p int) int {
	i := p
	for i < len(b) && i-p < maxLevel && b[i] >= 'A' && b[i] <= 'Z' {
		i++
	}
	if i == p || i >= len(b) {
		return -1
	}
	if b[i] == ' ' && i-p < maxLevel { // "INFO [": padded to five
		i++
	}
	if i >= len(b) || b[i] != '[' {
		return -1
	}
	return i + 1
}

// levelDate reads "MM-DD|hh:mm:ss" and a fraction at b[i:] and returns where
// it ends, or -1.
func levelDate(b []byte, i int, s *stamp) int {
	var ok1, ok2 bool
	s.mon, ok1 = num2(b, i)
	s.day, ok2 = num2(b, i+3)
	if !ok1 || !ok2 || b[i+2] != '-' || b[i+5] != '|' {
		return -1
	}
	return timeOfDay(b, i+6, s)
}
