package logprefix

import "bytes"

// refParse is Parse as it was before the in-place rewrite (commit 62f8fa0),
// kept as the oracle that FuzzParseInto compares the rewrite against: the
// rewrite is for speed only and must find every line's prefix as before.
func refParse(line []byte) (p Prefix, ok bool) {
	if len(line) > Limit {
		line = line[:Limit]
	}
	i, rfc5424 := refHeader(line)
	if rfc5424 {
		return refParse5424(line, i)
	}
	e := stampEnd(line, i)
	if e < 0 {
		return Prefix{}, false
	}
	return refAfterStamp(line, e)
}

// header skips "<PRI>" and reports whether "1 " follows (RFC 5424).
func refHeader(line []byte) (int, bool) {
	if len(line) < 3 || line[0] != '<' {
		return 0, false
	}
	i := 1
	for i < len(line) && i < 5 && isDigit(line[i]) {
		i++
	}
	if i == 1 || i >= len(line) || line[i] != '>' {
		return 0, false
	}
	i++
	if i+1 < len(line) && line[i] == '1' && line[i+1] == ' ' {
		return i + 2, true
	}
	return i, false
}

// afterStamp reads " [<fac.pri> ][host ]tag[[pid]]: [[ID n fac.pri] ]".
func refAfterStamp(line []byte, i int) (Prefix, bool) {
	if i >= len(line) || line[i] != ' ' {
		return Prefix{}, false
	}
	i = skipSpaces(line, i)
	if i < len(line) && line[i] == '<' { // BSD syslogd -v: <auth.info>
		if j := bytes.IndexByte(line[i:], '>'); j > 0 && bytes.IndexByte(line[i:i+j], '.') > 0 && i+j+1 < len(line) && line[i+j+1] == ' ' {
			i = skipSpaces(line, i+j+1)
		}
	}
	var p Prefix
	if m, tag := refTagEnd(line, i); m >= 0 { // no host
		p.Tag, p.Message = tag, m
	} else {
		h := bytes.IndexByte(line[i:], ' ')
		if h <= 0 {
			return Prefix{}, false
		}
		p.Host = [2]int{i, i + h}
		m, tag := refTagEnd(line, skipSpaces(line, i+h))
		if m < 0 {
			return Prefix{}, false
		}
		p.Tag, p.Message = tag, m
	}
	p.Message = refSolarisID(line, p.Message)
	return p, true
}

// tagEnd reads "tag[pid]: " or "tag: " at i and returns where the message
// starts and the tag's span; -1 when there is none. BSD's "[tag]: " and
// "[tag] " count too.
func refTagEnd(line []byte, i int) (int, [2]int) {
	if i < len(line) && line[i] == '[' {
		return refBracketTagEnd(line, i)
	}
	j := i
	for j < len(line) && !endsTag[line[j]] {
		j++
	}
	if j == i || j >= len(line) {
		return -1, [2]int{}
	}
	tag := [2]int{i, j}
	if line[j] == '[' {
		k := j + 1
		for k < len(line) && isDigit(line[k]) {
			k++
		}
		if k == j+1 || k >= len(line) || line[k] != ']' {
			return -1, [2]int{}
		}
		j = k + 1
	}
	if j >= len(line) || line[j] != ':' {
		return -1, [2]int{}
	}
	j++
	if j < len(line) && line[j] != ' ' {
		return -1, [2]int{}
	}
	return skipSpaces(line, j), tag
}

func refBracketTagEnd(line []byte, i int) (int, [2]int) {
	j := i + 1
	for j < len(line) && !endsTag[line[j]] && line[j] != ']' {
		j++
	}
	if j == i+1 || j >= len(line) || line[j] != ']' {
		return -1, [2]int{}
	}
	tag := [2]int{i + 1, j}
	j++
	if j < len(line) && line[j] == ':' {
		j++
	}
	if j >= len(line) || line[j] != ' ' {
		return -1, [2]int{}
	}
	return skipSpaces(line, j), tag
}

// solarisID skips Solaris syslog's "[ID 800047 auth.info] ".
func refSolarisID(line []byte, m int) int {
	if !bytes.HasPrefix(line[m:], []byte("[ID ")) {
		return m
	}
	i := m + 4
	j := i
	for j < len(line) && isDigit(line[j]) {
		j++
	}
	if j == i || j >= len(line) || line[j] != ' ' {
		return m
	}
	k := bytes.IndexByte(line[j+1:], ']')
	if k <= 0 || bytes.IndexByte(line[j+1:j+1+k], ' ') >= 0 {
		return m
	}
	return skipSpaces(line, j+1+k+1)
}

// parse5424 reads "TIMESTAMP HOST APP PROCID MSGID SD [MSG]" after "<PRI>1 ".
func refParse5424(line []byte, i int) (Prefix, bool) {
	var p Prefix
	var f [5][2]int
	for n := range f {
		j := bytes.IndexByte(line[i:], ' ')
		if j <= 0 {
			return Prefix{}, false
		}
		f[n] = [2]int{i, i + j}
		i += j + 1
	}
	if string(line[f[1][0]:f[1][1]]) != "-" {
		p.Host = f[1]
	}
	if string(line[f[2][0]:f[2][1]]) != "-" {
		p.Tag = f[2]
	}
	e := refSdEnd(line, i)
	if e < 0 {
		return Prefix{}, false
	}
	if e < len(line) && line[e] == ' ' {
		e++
	}
	if bytes.HasPrefix(line[e:], []byte("\xef\xbb\xbf")) {
		e += 3
	}
	p.Message = e
	return p, true
}

// sdEnd returns where RFC 5424 structured data ("-" or "[id k="v"]...")
// that starts at i ends, or -1.
func refSdEnd(line []byte, i int) int {
	if i < len(line) && line[i] == '-' {
		return i + 1
	}
	for i < len(line) && line[i] == '[' {
		inQuote := false
		j := i + 1
		for ; j < len(line); j++ {
			c := line[j]
			switch {
			case inQuote && c == '\\':
				j++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == ']':
				goto closed
			}
		}
		return -1
	closed:
		i = j + 1
	}
	if i == 0 || line[i-1] != ']' {
		return -1
	}
	return i
}
