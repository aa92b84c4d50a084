package timestamp

import "bytes"

// locate tries the cached kind, then full detection.
func (d *Detector) locate(line []byte, s *stamp) bool {
	k := kind(d.cache.Load())
	if k != kindNone && d.spec.find(line, k, s) {
		// Syslog is often a relay's prefix to the program's own, finer stamp;
		// a file whose first line lacked one must still learn it.
		if k != kindSyslog || !d.spec.finerAfterTag(line, s.end) {
			return true
		}
	}
	if !d.spec.detect(line, s) {
		return false
	}
	if s.kind != k {
		d.cache.Store(uint32(s.kind))
	}
	return true
}

// detect finds every candidate and puts the best in best.
func (sp *spec) detect(line []byte, best *stamp) bool {
	p := picker{best: best}
	var s stamp
	limit := sp.limit(line)
	if kindEpoch.in(sp.kinds) && epochAtStart(line, &s) && sp.accepts(&s) {
		p.offer(&s)
	}
	if sp.kinds&clockKinds != 0 {
		for i := 0; i < limit; {
			next, ok := nextClock(line, i, limit, sp.kinds, &s)
			if !ok {
				break
			}
			if sp.accepts(&s) {
				p.offer(&s)
			}
			i = next
		}
	}
	if kindAudit.in(sp.kinds) && findAudit(line, limit, &s) && sp.accepts(&s) {
		p.offer(&s)
	}
	if sp.kinds&keyKinds != 0 && !sp.anchored {
		brace := bytes.IndexByte(line, '{') // no JSON key without an object
		for k := firstKey; k <= lastKey; k++ {
			from := 0
			if keyText[k-firstKey][0] == '"' {
				from = brace
			}
			if k.in(sp.kinds) && from >= 0 && sp.findKey(line, k, from, &s) {
				p.offer(&s)
			}
		}
	}
	return p.found
}

// find searches line for a timestamp of kind k only.
func (sp *spec) find(line []byte, k kind, s *stamp) bool {
	switch {
	case k == kindEpoch:
		return epochAtStart(line, s) && sp.accepts(s)
	case k == kindAudit:
		return findAudit(line, sp.limit(line), s) && sp.accepts(s)
	case k.in(keyKinds):
		return sp.findKey(line, k, 0, s)
	case k == kindISO || k == kindGoLog:
		return sp.findDate(line, k, s)
	}
	limit := sp.limit(line)
	for i := 0; i < limit; {
		next, ok := nextClock(line, i, limit, 1<<k, s)
		if !ok {
			break
		}
		if sp.accepts(s) {
			return true
		}
		i = next
	}
	return false
}

// findDate searches line for an ISO date-time of kind k by the date's first
// separator, which is rarer in lines than the time's colons.
func (sp *spec) findDate(line []byte, k kind, s *stamp) bool {
	sep := byte('-')
	if k == kindGoLog {
		sep = '/'
	}
	// The time's first colon, which detection requires to lie before the
	// limit, comes 9 bytes after the date's first separator.
	limit := sp.limit(line) - 9
	for i := 4; i < limit; {
		j := bytes.IndexByte(line[i:limit], sep)
		if j < 0 {
			break
		}
		d := i + j
		i = d + 1
		if parseISOAt(line, d-4, s) && s.kind == k && sp.accepts(s) {
			return true
		}
	}
	return false
}

// finerAfterTag reports whether the message after a syslog stamp and its
// "host tag[pid]:" may hold a finer stamp: it starts with a date-time with a
// fraction of a second, a logfmt time key or a JSON object.
func (sp *spec) finerAfterTag(line []byte, from int) bool {
	limit := sp.limit(line)
	if from >= limit {
		return false
	}
	c := bytes.IndexByte(line[from:limit], ':')
	if c < 0 {
		return false
	}
	i := from + c + 1
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) {
		return false
	}
	if line[i] == '{' || startsKey(line[i:]) {
		return true // let detection weigh the keys
	}
	var s stamp
	return parseISOAt(line, i, &s) && s.res > 0 && sp.accepts(&s)
}

// limit is where the search for date-times ends: at a line-start stamp's
// longest length when anchored.
func (sp *spec) limit(line []byte) int {
	if sp.anchored {
		return min(len(line), 32)
	}
	return min(len(line), ScanLimit)
}
