package timestamp

import (
	"bytes"

	"github.com/peerjail/peerjail/internal/logprefix"
)

// op is one element of a strftime pattern.
type op uint8

const (
	opLiteral   op = iota
	opSpace        // one or more blanks, up to maxSpace
	opYear         // %Y
	opYear2        // %y
	opMonth        // %m
	opMonthName    // %b %B: abbreviated or full, any case
	opDay          // %d %e: 1 or 2 digits, or a space and a digit
	opHour         // %H
	opMinute       // %M
	opSecond       // %S
	opFraction     // %f: 1 to 9 digits, more are skipped
	opZone         // %z: Z, +hh:mm, +hhmm or +hh
	opWeekday      // %a %A: checked, then ignored
	opYearDay      // %j
)

var directives = map[byte]op{
	'Y': opYear, 'y': opYear2, 'm': opMonth, 'b': opMonthName, 'B': opMonthName,
	'd': opDay, 'e': opDay, 'H': opHour, 'M': opMinute, 'S': opSecond,
	'f': opFraction, 'z': opZone, 'a': opWeekday, 'A': opWeekday, 'j': opYearDay,
}

// maxSpace bounds a blank run, as a stamp's width is bounded.
const maxSpace = 8

type item struct {
	op  op
	lit []byte // for opLiteral
}

// pattern is a compiled strftime datepattern.
type pattern struct {
	items    []item
	anchored bool
}

func (p *pattern) addLiteral(c byte) {
	if n := len(p.items); n > 0 && p.items[n-1].op == opLiteral {
		p.items[n-1].lit = append(p.items[n-1].lit, c)
		return
	}
	p.items = append(p.items, item{op: opLiteral, lit: []byte{c}})
}

// find matches the pattern where a line's writers put their stamps, the
// first place that matches winning: the start of the line (after a "<PRI>"
// header, or in brackets), the start of the program's message after a
// syslog relay's prefix, and a common-log-format line's brackets. Anchored,
// it matches at the very start only.
func (p *pattern) find(line []byte, s *stamp) bool {
	if p.anchored {
		return p.matchAt(line, 0, s)
	}
	if p.at(line, header(line), s) {
		return true
	}
	var pfx logprefix.Prefix
	if logprefix.ParseInto(line, &pfx) && p.at(line, pfx.Message, s) {
		return true
	}
	c := clfStart(line)
	return c >= 0 && p.matchAt(line, c, s)
}

// at matches the pattern at line[i:], or inside a bracket that opens there,
// alone or after a level ("DEBUG[", "E[", as go-ethereum and CometBFT write).
func (p *pattern) at(line []byte, i int, s *stamp) bool {
	if p.matchAt(line, i, s) {
		return true
	}
	if i >= len(line) {
		return false
	}
	if line[i] == '[' {
		return p.matchAt(line, i+1, s)
	}
	if b := levelEnd(line, i); b > 0 {
		return p.matchAt(line, b, s)
	}
	return false
}

// matchAt matches the whole pattern at b[i:].
func (p *pattern) matchAt(b []byte, i int, s *stamp) bool {
	*s = stamp{kind: kindPattern, pos: i, yearless: true}
	yday := 0
	for k := range p.items {
		if i = step(b, i, &p.items[k], s, &yday); i < 0 {
			return false
		}
	}
	if yday > 0 && !fromYearDay(s, yday) {
		return false
	}
	s.end = i
	return s.validClock()
}

// step matches one item at b[i:] and returns where it ends, or -1.
func step(b []byte, i int, it *item, s *stamp, yday *int) int {
	if i >= len(b) {
		return -1
	}
	var v int
	switch it.op {
	case opLiteral:
		if !bytes.HasPrefix(b[i:], it.lit) {
			return -1
		}
		return i + len(it.lit)
	case opSpace:
		e := i
		for e < len(b) && e-i < maxSpace && (b[e] == ' ' || b[e] == '\t') {
			e++
		}
		if e == i {
			return -1
		}
		return e
	case opYear:
		v, i = fixed(b, i, 4)
		s.year, s.yearless = v, false
	case opYear2:
		v, i = fixed(b, i, 2)
		s.year, s.yearless = 2000+v, false
		if v >= 69 { // POSIX: 69-99 are 1969-1999
			s.year -= 100
		}
	case opMonth:
		s.mon, i = upTo(b, i, 2)
	case opMonthName:
		s.mon, i = monthName(b, i)
	case opDay:
		if b[i] == ' ' {
			s.day, i = fixed(b, i+1, 1)
		} else {
			s.day, i = upTo(b, i, 2)
		}
	case opHour:
		s.hour, i = upTo(b, i, 2)
	case opMinute:
		s.min, i = fixed(b, i, 2)
	case opSecond:
		s.sec, i = fixed(b, i, 2)
	case opFraction:
		if !isDigit(b[i]) {
			return -1
		}
		i = fraction(b, i, s)
	case opZone:
		i = zoneItem(b, i, s)
	case opWeekday:
		i = weekday(b, i)
	case opYearDay:
		*yday, i = fixed(b, i, 3)
	}
	return i
}

// fixed reads exactly n digits at b[i:]; the index is -1 when absent.
func fixed(b []byte, i, n int) (int, int) {
	if i+n > len(b) {
		return 0, -1
	}
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, -1
		}
		v = v*10 + int(c-'0')
	}
	return v, i + n
}

// upTo reads 1 to n digits at b[i:]; the index is -1 when absent.
func upTo(b []byte, i, n int) (int, int) {
	v, e := 0, i
	for e < len(b) && e-i < n && isDigit(b[e]) {
		v = v*10 + int(b[e]-'0')
		e++
	}
	if e == i {
		return 0, -1
	}
	return v, e
}

func zoneItem(b []byte, i int, s *stamp) int {
	switch b[i] {
	case 'Z', 'z':
		s.zoned = true
		return i + 1
	case '+', '-':
		return offset(b, i, s, true)
	}
	return -1
}

var monthRest = [13]string{"", "uary", "ruary", "ch", "il", "", "e", "y", "ust", "tember", "ober", "ember", "ember"}

// monthName reads an abbreviated or full month name in any case.
func monthName(b []byte, i int) (int, int) {
	m := month(b, i, true)
	if m == 0 {
		return 0, -1
	}
	i += 3
	if r := monthRest[m]; r != "" && hasPrefixFold(b[i:], r) {
		i += len(r)
	}
	return m, i
}

var weekdays = [7][2]string{
	{"mon", "day"}, {"tue", "sday"}, {"wed", "nesday"}, {"thu", "rsday"},
	{"fri", "day"}, {"sat", "urday"}, {"sun", "day"},
}

// weekday skips an abbreviated or full weekday name in any case.
func weekday(b []byte, i int) int {
	for _, w := range weekdays {
		if hasPrefixFold(b[i:], w[0]) {
			i += 3
			if hasPrefixFold(b[i:], w[1]) {
				i += len(w[1])
			}
			return i
		}
	}
	return -1
}

// hasPrefixFold reports whether b starts with the lower-case ASCII word w, in
// any case.
func hasPrefixFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if b[k]|0x20 != w[k] {
			return false
		}
	}
	return true
}

// fromYearDay sets month and day from a day of the year.
func fromYearDay(s *stamp, yday int) bool {
	for m := 1; m <= 12; m++ {
		n := daysIn(m, s.year)
		if yday <= n {
			s.mon, s.day = m, yday
			return true
		}
		yday -= n
	}
	return false
}
