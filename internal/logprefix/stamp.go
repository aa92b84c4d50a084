package logprefix

// stampEnd returns where the relay's stamp that starts at i ends, or -1.
// Only the shape is checked here; internal/timestamp reads the value.
func stampEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '[':
		return monotonicEnd(b, i)
	case isDigit(c):
		if e := isoEnd(b, i); e > 0 {
			return e
		}
		return unixEnd(b, i)
	case c >= 'A' && c <= 'Z':
		if e := syslogEnd(b, i); e > 0 {
			return e
		}
		return fullEnd(b, i)
	}
	return -1
}

// syslogEnd: "Dec  1 08:56:14", "Dec 01 08:56:14.717400".
func syslogEnd(b []byte, i int) int {
	if i+15 > len(b) || b[i+3] != ' ' || !isLower(b[i+1]) || !isLower(b[i+2]) {
		return -1
	}
	d := i + 4
	switch {
	case (b[d] == ' ' || isDigit(b[d])) && isDigit(b[d+1]) && b[d+2] == ' ':
		return clockEnd(b, d+3)
	case isDigit(b[d]) && b[d+1] == ' ': // "Feb 7 16:01:07", as some syslogds write it
		return clockEnd(b, d+2)
	}
	return -1
}

// fullEnd: "Tue 2026-12-01 08:56:14 UTC", as journalctl -o short-full and
// -o with-unit write it; the zone is a name or an offset.
func fullEnd(b []byte, i int) int {
	if i+4 > len(b) || b[i+3] != ' ' || !isLower(b[i+1]) || !isLower(b[i+2]) {
		return -1
	}
	e := dateEnd(b, i+4)
	if e < 0 || e >= len(b) || b[e] != ' ' {
		return -1
	}
	e = clockEnd(b, e+1)
	if e < 0 || e+1 >= len(b) || b[e] != ' ' {
		return -1
	}
	j := e + 1
	for j < len(b) && (isUpper(b[j]) || isDigit(b[j]) || b[j] == '+' || b[j] == '-') {
		j++
	}
	if j == e+1 {
		return -1
	}
	return j
}

// isoEnd: "2026-12-01T08:56:14", a fraction, and "Z", "+0000" or "+00:00".
func isoEnd(b []byte, i int) int {
	e := dateEnd(b, i)
	if e < 0 || e >= len(b) || b[e] != 'T' {
		return -1
	}
	e = clockEnd(b, e+1)
	if e < 0 || e >= len(b) {
		return -1
	}
	switch b[e] {
	case 'Z':
		return e + 1
	case '+', '-':
		j := e + 1
		for j < len(b) && j < e+6 && (isDigit(b[j]) || b[j] == ':') {
			j++
		}
		if j-e < 3 {
			return -1
		}
		return j
	}
	return e
}

// unixEnd: "1764579374.717400" (journalctl -o short-unix).
func unixEnd(b []byte, i int) int {
	j := digitsEnd(b, i)
	if j-i < 9 || j-i > 11 || j >= len(b) || b[j] != '.' {
		return -1
	}
	k := digitsEnd(b, j+1)
	if k == j+1 {
		return -1
	}
	return k
}

// monotonicEnd: "[ 1234.567890]" (journalctl -o short-monotonic).
func monotonicEnd(b []byte, i int) int {
	j := skipSpaces(b, i+1)
	k := digitsEnd(b, j)
	if k == j || k >= len(b) || b[k] != '.' {
		return -1
	}
	m := digitsEnd(b, k+1)
	if m == k+1 || m >= len(b) || b[m] != ']' {
		return -1
	}
	return m + 1
}

// dateEnd: "2026-12-01".
func dateEnd(b []byte, i int) int {
	if i+10 > len(b) || b[i+4] != '-' || b[i+7] != '-' {
		return -1
	}
	for _, k := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(b[i+k]) {
			return -1
		}
	}
	return i + 10
}

// clockEnd: "08:56:14" and an optional fraction.
func clockEnd(b []byte, i int) int {
	if i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return -1
	}
	// Written out: a loop over the offsets costs a fifth of Parse.
	if !isDigit(b[i]) || !isDigit(b[i+1]) || !isDigit(b[i+3]) || !isDigit(b[i+4]) || !isDigit(b[i+6]) || !isDigit(b[i+7]) {
		return -1
	}
	e := i + 8
	if e+1 < len(b) && (b[e] == '.' || b[e] == ',') && isDigit(b[e+1]) {
		e = digitsEnd(b, e+1)
	}
	return e
}

func digitsEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
