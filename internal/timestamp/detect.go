package timestamp

import (
	"bytes"

	"github.com/peerjail/peerjail/internal/logprefix"
)

// A line is written by at most two parties before anyone else's text: a
// relay (syslog, journalctl) that puts its stamp and "host tag[pid]: " in
// front, and the program, whose message may start with its own stamp. Only
// those two places are read; the rest of the message is the program's text
// about someone, which that someone may have chosen.

// detect puts in best the stamp at the start of the line or, when finer, the
// one at the start of the program's message.
// prefix is what the caller knows of the relay prefix (see FindAfter).
func (sp *spec) detect(line []byte, prefix int, best *stamp) bool {
	var lead, prog stamp
	w := sp.winner(line, prefix, nil, &lead, &prog)
	if w != nil {
		*best = *w
	}
	return w != nil
}

// winner is detect without copying the winning stamp: it reads the line's
// stamp into lead, the program's into prog, and returns the one that wins,
// or nil. A stamp is written field by field, and copying one right after
// stalls the CPU (a store-forwarding stall); FindAfter builds the time from
// the winner in place. r, when not nil, remembers recent lines' stamps.
func (sp *spec) winner(line []byte, prefix int, r *Recent, lead, prog *stamp) *stamp {
	var best *stamp
	hasLead := r.leadFrom(line, lead)
	if hasLead && sp.accepts(lead) {
		best = lead
	}
	if hasLead && lead.kind != kindSyslog && lead.kind != kindISO && lead.kind != kindEpoch {
		return best
	}
	// Where the relay's prefix ends is logprefix's rule, the one the
	// filters use; without a relay's stamp there is no prefix to skip.
	m := prefix - 1
	if prefix == 0 {
		var pfx logprefix.Prefix
		if !logprefix.ParseInto(line, &pfx) {
			return best
		}
		m = pfx.Message
	} else if prefix < 0 {
		return best
	}
	if programStamp(line, m, r, prog) && sp.accepts(prog) && (best == nil || prog.res > best.res) {
		best = prog
	}
	return best
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
		// journalctl -o short-full: "Tue 2026-12-01 08:56:14 UTC".
		if weekday(line[:min(len(line), p+3)], p) == p+3 && p+4 < len(line) && line[p+3] == ' ' && parseISOAt(line, p+4, s) {
			s.pos = p
			return true
		}
		if parseLevelAt(line, p, s) {
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

// programStamp reads the stamp that starts the program's message at m: a
// date-time (go-log's zap console, Python, Go's log, Bitcoin Core, Nano), a
// level and bracketed stamp (go-ethereum, CometBFT), a JSON object's time
// key or a leading logfmt time key. r, when not nil, remembers recent lines'
// stamps.
func programStamp(line []byte, m int, r *Recent, s *stamp) bool {
	if m >= len(line) {
		return false
	}
	switch c := line[m]; {
	case isDigit(c):
		return r.isoAt(line, m, s)
	case c == '[':
		return r.isoAt(line, m+1, s)
	case c == '{':
		return jsonTime(line, m, s)
	case c >= 'A' && c <= 'Z':
		return parseLevelAt(line, m, s)
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
