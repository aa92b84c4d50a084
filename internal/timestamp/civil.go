package timestamp

import "time"

// stamp is a timestamp as found in a line, before it becomes a time.Time:
// building a time.Time costs more than comparing candidates, so detection
// compares stamps and builds only the winner.
type stamp struct {
	year, mon, day  int
	hour, min, sec  int
	nsec            int
	off             int   // zone offset in seconds east of UTC, when zoned
	unix            int64 // seconds since the epoch, when epoch
	pos, end        int   // where the text lies in the line
	res             int8  // digits after the second, 0 to 9
	digits          int8  // integer digits of an epoch number
	zoned, yearless bool
	epoch           bool
	kind            kind
}

// wall is the stamp's wall-clock time in seconds as if it were UTC, in year y.
func (s *stamp) wall(y int) int64 {
	return daysFromCivil(y, s.mon, s.day)*86400 + int64(s.hour*3600+s.min*60+s.sec)
}

// build turns a stamp with a known year into a time. Times with a zone or from
// an epoch number come back in UTC, others in loc.
func build(s *stamp, year int, loc *time.Location) (time.Time, bool) {
	if s.epoch {
		return time.Unix(s.unix, int64(s.nsec)).UTC(), true
	}
	if year < 0 || year > 9999 || s.day > daysIn(s.mon, year) {
		return time.Time{}, false
	}
	switch {
	case s.zoned:
		return time.Unix(s.wall(year)-int64(s.off), int64(s.nsec)).UTC(), true
	case loc == time.UTC:
		return time.Unix(s.wall(year), int64(s.nsec)).UTC(), true
	}
	return time.Date(year, time.Month(s.mon), s.day, s.hour, s.min, s.sec, s.nsec, loc), true
}

// daysFromCivil counts days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm): cheaper than time.Date.
// Years are shifted by one 400-year era so that unsigned division applies.
func daysFromCivil(y, m, d int) int64 {
	yy := uint32(y + 400)
	mp := uint32(m) + 9 // months from March
	if m > 2 {
		mp = uint32(m) - 3
	} else {
		yy--
	}
	era := yy / 400
	yoe := yy - era*400
	doy := (153*mp+2)/5 + uint32(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468 - 146097
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysIn is the length of month m of year y; 0 for a month out of range.
func daysIn(m, y int) int {
	if m < 1 || m > 12 {
		return 0
	}
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 29
	}
	return monthDays[m]
}

// validClock reports whether the stamp's date and time of day are in range.
// Without a year, February 29 is allowed: the year is settled later.
func (s *stamp) validClock() bool {
	if s.mon < 1 || s.mon > 12 || s.day < 1 || s.hour > 23 || s.min > 59 || s.sec > 60 {
		return false
	}
	if s.yearless {
		return s.day <= daysIn(s.mon, 2000)
	}
	return s.year >= 0 && s.year <= 9999 && s.day <= daysIn(s.mon, s.year)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// num2 reads two digits at b[i:]; the caller checks i+2 <= len(b).
func num2(b []byte, i int) (int, bool) {
	d0, d1 := b[i]-'0', b[i+1]-'0'
	return int(d0)*10 + int(d1), d0 <= 9 && d1 <= 9
}

// num4 reads four digits at b[i:]; the caller checks i+4 <= len(b).
func num4(b []byte, i int) (int, bool) {
	hi, ok1 := num2(b, i)
	lo, ok2 := num2(b, i+2)
	return hi*100 + lo, ok1 && ok2
}

// fraction reads a fraction of a second at b[i:] into s and returns where it
// ends. Up to maxDigits digits past nanoseconds are skipped; a longer run is
// left for the caller to reject, which bounds the work per candidate.
func fraction(b []byte, i int, s *stamp) int {
	n, v := 0, 0
	// Two digits a step halve the chain of dependent multiplications.
	for ; n+2 <= 9 && i+2 <= len(b) && isDigit(b[i]) && isDigit(b[i+1]); i, n = i+2, n+2 {
		v = v*100 + int(b[i]-'0')*10 + int(b[i+1]-'0')
	}
	if n < 9 && i < len(b) && isDigit(b[i]) {
		v = v*10 + int(b[i]-'0')
		i, n = i+1, n+1
	}
	for end := i + maxDigits; i < end && i < len(b) && isDigit(b[i]); {
		i++
	}
	s.res = int8(n)
	s.nsec = v * pow10[9-n]
	return i
}

const maxDigits = 12

var pow10 = [10]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// month reads an English month name's first three letters at b[i:], the
// first upper case and the others lower case as syslog writes them; or, with
// fold, in any case. It returns 0 when there is none.
func month(b []byte, i int, fold bool) int {
	if i < 0 || i+3 > len(b) {
		return 0
	}
	c0, c1, c2 := b[i], b[i+1], b[i+2]
	if fold {
		c0, c1, c2 = c0&^0x20, c1|0x20, c2|0x20
	}
	switch uint32(c0)<<16 | uint32(c1)<<8 | uint32(c2) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 1
	case 'F'<<16 | 'e'<<8 | 'b':
		return 2
	case 'M'<<16 | 'a'<<8 | 'r':
		return 3
	case 'A'<<16 | 'p'<<8 | 'r':
		return 4
	case 'M'<<16 | 'a'<<8 | 'y':
		return 5
	case 'J'<<16 | 'u'<<8 | 'n':
		return 6
	case 'J'<<16 | 'u'<<8 | 'l':
		return 7
	case 'A'<<16 | 'u'<<8 | 'g':
		return 8
	case 'S'<<16 | 'e'<<8 | 'p':
		return 9
	case 'O'<<16 | 'c'<<8 | 't':
		return 10
	case 'N'<<16 | 'o'<<8 | 'v':
		return 11
	case 'D'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}
