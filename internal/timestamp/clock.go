package timestamp

// timeOfDay reads "hh:mm:ss" and an optional fraction at b[i:] into s and
// returns where they end, or -1.
func timeOfDay(b []byte, i int, s *stamp) int {
	if i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return -1
	}
	var ok1, ok2, ok3 bool
	s.hour, ok1 = num2(b, i)
	s.min, ok2 = num2(b, i+3)
	s.sec, ok3 = num2(b, i+6)
	if !ok1 || !ok2 || !ok3 {
		return -1
	}
	i += 8
	if i+1 < len(b) && (b[i] == '.' || b[i] == ',') && isDigit(b[i+1]) {
		i = fraction(b, i+1, s)
	}
	return i
}

// parseISOAt reads an ISO 8601 date and time at b[p:]: "2024-07-27T00:00:00",
// 'T' or a space between date and time (Python logging), optional fraction
// with '.' or ',' and optional zone. A '/' date ("2024/07/27 00:00:00") is Go's
// log package.
func parseISOAt(b []byte, p int, s *stamp) bool {
	return isoDateTime(b, p, s) && isoRest(b, p, s)
}

// isoDateTime reads the date and time of day of parseISOAt's stamp into s:
// what it finds is decided by b[p-1:p+19] alone (see Recent.isoAt).
func isoDateTime(b []byte, p int, s *stamp) bool {
	if p < 0 || p+19 > len(b) || (p > 0 && isAlnum(b[p-1])) {
		return false
	}
	sep, between := b[p+4], b[p+10]
	if (sep != '-' && sep != '/') || b[p+7] != sep {
		return false
	}
	if between != 'T' && between != 't' && between != ' ' {
		return false
	}
	if b[p+13] != ':' || b[p+16] != ':' {
		return false
	}
	*s = stamp{}
	var ok [6]bool
	s.year, ok[0] = num4(b, p)
	s.mon, ok[1] = num2(b, p+5)
	s.day, ok[2] = num2(b, p+8)
	s.hour, ok[3] = num2(b, p+11)
	s.min, ok[4] = num2(b, p+14)
	s.sec, ok[5] = num2(b, p+17)
	return ok == [6]bool{true, true, true, true, true, true} && s.validClock()
}

// isoRest reads what follows parseISOAt's date and time of day: a fraction
// and a zone.
func isoRest(b []byte, p int, s *stamp) bool {
	e := p + 19
	if e+1 < len(b) && (b[e] == '.' || b[e] == ',') && isDigit(b[e+1]) {
		e = fraction(b, e+1, s)
	}
	e = zone(b, e, s, b[p+10] == ' ')
	if e < len(b) && isDigit(b[e]) {
		return false
	}
	s.pos, s.end, s.kind = p, e, kindISO
	if b[p+4] == '/' {
		s.kind = kindGoLog
	}
	return true
}

// parseSyslogAt reads a syslog (RFC 3164) stamp at b[p:]: "Jul 27 00:00:00",
// "Jul  7 00:00:00" or "Jul 7 00:00:00", with an optional fraction. It has no
// year; the detector infers one.
func parseSyslogAt(b []byte, p int, s *stamp) bool {
	if p+14 > len(b) || b[p+3] != ' ' {
		return false
	}
	mon := month(b, p, false)
	if mon == 0 {
		return false
	}
	i, day := p+4, 0
	switch {
	case b[i] == ' ' && isDigit(b[i+1]):
		day, i = int(b[i+1]-'0'), i+2
	case isDigit(b[i]) && isDigit(b[i+1]):
		day, i = int(b[i]-'0')*10+int(b[i+1]-'0'), i+2
	case isDigit(b[i]):
		day, i = int(b[i]-'0'), i+1
	default:
		return false
	}
	if i >= len(b) || b[i] != ' ' {
		return false
	}
	*s = stamp{mon: mon, day: day, yearless: true}
	e := timeOfDay(b, i+1, s)
	if e < 0 || !s.validClock() || (e < len(b) && isDigit(b[e])) {
		return false
	}
	s.pos, s.end, s.kind = p, e, kindSyslog
	return true
}

// parseCLFAt reads the common log format's stamp at b[p:], as web servers
// write it: "27/Jul/2024:00:00:00 +0000".
func parseCLFAt(b []byte, p int, s *stamp) bool {
	if p < 0 || p+20 > len(b) || b[p+2] != '/' || b[p+6] != '/' || b[p+11] != ':' {
		return false
	}
	if p > 0 && isAlnum(b[p-1]) {
		return false
	}
	*s = stamp{}
	var ok1, ok2 bool
	s.day, ok1 = num2(b, p)
	s.mon = month(b, p+3, false)
	s.year, ok2 = num4(b, p+7)
	e := timeOfDay(b, p+12, s)
	if !ok1 || !ok2 || e < 0 || !s.validClock() {
		return false
	}
	e = zone(b, e, s, true)
	if e < len(b) && isDigit(b[e]) {
		return false
	}
	s.pos, s.end, s.kind = p, e, kindCLF
	return true
}

// zone reads an optional zone at b[i:] into s and returns where it ends:
// "Z", "+02:00", "+0200" or "+02"; with spaced, also " +0200", " +02:00",
// " UTC" and " GMT", which follow a space-separated date and time.
func zone(b []byte, i int, s *stamp, spaced bool) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case 'Z', 'z':
		s.zoned = true
		return i + 1
	case '+', '-':
		if e := offset(b, i, s, true); e > 0 {
			return e
		}
	case ' ':
		if !spaced || i+4 > len(b) {
			return i
		}
		if b[i+1] == '+' || b[i+1] == '-' {
			if e := offset(b, i+1, s, false); e > 0 {
				return e
			}
		}
		name := string(b[i+1 : i+4]) // no allocation: compared, not kept
		if (name == "UTC" || name == "GMT") && (i+4 == len(b) || !isAlnum(b[i+4])) {
			s.zoned = true
			return i + 4
		}
	}
	return i
}

// offset reads a numeric zone offset "+hh:mm", "+hhmm" or, with short,
// "+hh" at b[i:] into s and returns where it ends, or -1.
func offset(b []byte, i int, s *stamp, short bool) int {
	if i+3 > len(b) {
		return -1
	}
	h, ok := num2(b, i+1)
	if !ok || h > 23 {
		return -1
	}
	e, m := i+3, 0
	switch {
	case e+3 <= len(b) && b[e] == ':':
		m, ok = num2(b, e+1)
		e += 3
	case e+2 <= len(b) && isDigit(b[e]):
		m, ok = num2(b, e)
		e += 2
	default:
		ok = short
	}
	if !ok || m > 59 {
		return -1
	}
	s.off = h*3600 + m*60
	if b[i] == '-' {
		s.off = -s.off
	}
	s.zoned = true
	return e
}
