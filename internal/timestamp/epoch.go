package timestamp

import "bytes"

// Epoch numbers are timestamps only where a logger puts them: at the start of
// the line, as a time key's value, or in auditd's "msg=audit(…:serial)". A bare
// number in a message is a count, an ID or a block height, never a time.

// parseEpochAt reads an epoch number at b[p:] into s: 10 digits of seconds
// with an optional fraction ("1722038400.123"), or 13, 16 or 19 digits of
// milliseconds, microseconds or nanoseconds.
func parseEpochAt(b []byte, p int, s *stamp) bool {
	n := 0
	for p+n < len(b) && isDigit(b[p+n]) && n < 20 {
		n++
	}
	if (n != 10 && n != 13 && n != 16 && n != 19) || b[p] == '0' {
		return false
	}
	*s = stamp{epoch: true, digits: int8(n), pos: p}
	for _, c := range b[p : p+10] {
		s.unix = s.unix*10 + int64(c-'0')
	}
	e := p + n
	if n > 10 {
		fraction(b[:e], p+10, s)
	} else if e+1 < len(b) && b[e] == '.' && isDigit(b[e+1]) {
		e = fraction(b, e+1, s)
	}
	s.end = e
	return true
}

// epochAtStart reads an epoch number that starts the line, bare or in
// brackets ("[1722038400.123] …").
func epochAtStart(line []byte, s *stamp) bool {
	p := 0
	if len(line) > 0 && line[0] == '[' {
		p = 1
	}
	if !parseEpochAt(line, p, s) {
		return false
	}
	s.pos, s.kind = 0, kindEpoch
	e := s.end
	switch {
	case p == 1:
		return e < len(line) && line[e] == ']'
	case e < len(line):
		c := line[e]
		return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '|'
	}
	return true
}

var auditText = []byte("audit(")

// auditValue reads the stamp of auditd's msg= value at v[p:]:
// "audit(1722038400.123:42):", as in "type=USER_AUTH msg=audit(…): …".
func auditValue(v []byte, p int, s *stamp) bool {
	if !bytes.HasPrefix(v[p:], auditText) {
		return false
	}
	at := p + len(auditText)
	if !parseEpochAt(v, at, s) || s.end >= len(v) || v[s.end] != ':' {
		return false
	}
	s.kind = kindAudit
	return true
}
