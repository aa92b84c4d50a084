package timestamp

import "bytes"

// A line is written by at most two parties before anyone else's text: a
// relay (syslog, journalctl) that puts its stamp and "host tag[pid]: " in
// front, and the program, whose message may start with its own stamp. Only
// those two places are read; the rest of the message is the program's text
// about someone, which that someone may have chosen.

// detect puts in best the stamp at the start of the line or, when finer, the
// one at the start of the program's message.
func (sp *spec) detect(line []byte, best *stamp) bool {
	var lead stamp
	found := false
	hasLead := leadStamp(line, &lead)
	if hasLead && sp.accepts(&lead) {
		*best, found = lead, true
	}
	if !hasLead || (lead.kind != kindSyslog && lead.kind != kindISO) {
		return found
	}
	m := messageStart(line, lead.end)
	if m < 0 {
		return found
	}
	var prog stamp
	if programStamp(line, m, &prog) && sp.accepts(&prog) && (!found || prog.res > best.res) {
		*best, found = prog, true
	}
	return found
}

// leadStamp reads the stamp that starts the line, whatever its kind: after
// an optional "<PRI>" or "<PRI>1 " header, or in brackets.
func leadStamp(line []byte, s *stamp) bool {
	if epochAtStart(line, s) {
		return true
	}
	p := header(line)
	if p >= len(line) {
		return false
	}
	switch c := line[p]; {
	case isDigit(c):
		if parseISOAt(line, p, s) {
			return true
		}
	case c == '[':
		if parseISOAt(line, p+1, s) {
			s.pos = p
			return true
		}
	case c == '{':
		return jsonTime(line, p, s)
	case c >= 'A' && c <= 'Z':
		if parseSyslogAt(line, p, s) {
			return true
		}
	}
	if logfmtTime(line, p, s) {
		return true
	}
	return clfAt(line, s)
}

// header returns where the line's text starts after a syslog "<PRI>" or an
// RFC 5424 "<PRI>1 " header.
func header(line []byte) int {
	if len(line) < 3 || line[0] != '<' {
		return 0
	}
	i := 1
	for i < len(line) && i < 5 && isDigit(line[i]) {
		i++
	}
	if i == 1 || i >= len(line) || line[i] != '>' {
		return 0
	}
	i++
	if i+1 < len(line) && line[i] == '1' && line[i+1] == ' ' {
		i += 2
	}
	return i
}

// messageStart returns where the program's message starts after a relay's
// stamp that ends at from: " host tag[pid]: " or " host tag: ", as syslog
// and journalctl write it; -1 when the line does not go on so.
func messageStart(line []byte, from int) int {
	limit := min(len(line), ScanLimit)
	i := from
	if i >= limit || line[i] != ' ' {
		return -1
	}
	for i < limit && line[i] == ' ' {
		i++
	}
	h := bytes.IndexByte(line[i:limit], ' ')
	if h <= 0 {
		return -1
	}
	i += h + 1
	j := i
	for j < limit && !endsTag[line[j]] {
		j++
	}
	if j == i || j >= limit {
		return -1
	}
	if line[j] == '[' {
		k := j + 1
		for k < limit && isDigit(line[k]) {
			k++
		}
		if k == j+1 || k >= limit || line[k] != ']' {
			return -1
		}
		j = k + 1
	}
	if j+1 >= limit || line[j] != ':' || line[j+1] != ' ' {
		return -1
	}
	j++
	for j < limit && line[j] == ' ' {
		j++
	}
	return j
}

// programStamp reads the stamp that starts the program's message at m: a
// date-time (go-log's zap console, Python, Go's log), a JSON object's time
// key or a leading logfmt time key.
func programStamp(line []byte, m int, s *stamp) bool {
	if m >= len(line) {
		return false
	}
	switch c := line[m]; {
	case isDigit(c):
		return parseISOAt(line, m, s)
	case c == '[':
		return parseISOAt(line, m+1, s)
	case c == '{':
		return jsonTime(line, m, s)
	}
	return logfmtTime(line, m, s)
}

// clfAt reads the stamp of the common log format, which web servers write
// after the client's address and two more fields:
// `203.0.113.7 - - [27/Jul/2024:00:00:00 +0000] "GET / HTTP/1.1" 200`.
func clfAt(line []byte, s *stamp) bool {
	p := clfStart(line)
	if p < 0 || !parseCLFAt(line, p, s) {
		return false
	}
	return s.end < len(line) && line[s.end] == ']'
}

// clfStart returns where the bracketed stamp after the first three fields
// of a common-log-format line starts, or -1.
func clfStart(line []byte) int {
	limit := min(len(line), ScanLimit)
	i := 0
	for range 3 {
		j := bytes.IndexByte(line[i:limit], ' ')
		if j <= 0 {
			return -1
		}
		i += j + 1
	}
	if i+1 >= limit || line[i] != '[' {
		return -1
	}
	return i + 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// endsTag marks the bytes that end a syslog tag ("sshd" in "sshd[1]: ").
var endsTag = [256]bool{' ': true, '\t': true, '[': true, ':': true}
