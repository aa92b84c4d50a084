package timestamp

import "bytes"

// Time keys, as JSON loggers (zerolog, zap, slog's JSON handler, logstash,
// CometBFT's "ts") and logfmt loggers (slog's text handler, go-kit, logrus)
// name them; go-ethereum's JSON and logfmt handlers write "t" (log/format.go
// timeKey).
var (
	jsonKeys   = []string{"time", "ts", "timestamp", "@timestamp", "t"}
	logfmtKeys = []string{"time", "ts", "timestamp", "t"}
)

func isKey(keys []string, k []byte) bool {
	for _, w := range keys {
		if string(k) == w { // no allocation: compared, not kept
			return true
		}
	}
	return false
}

// maxValue bounds a time value's length: no timestamp is longer.
const maxValue = 64

// jsonTime reads the time of the JSON object that starts at line[i]: the
// value of its first top-level time key, by the order of jsonKeys, that
// holds a time. Keys of nested objects and text inside string values are
// skipped over, never read: they hold what the program was told.
//
// Most log objects are flat before their time key: no backslash, no nested
// object or array. Then every quote opens or closes a string, and a key's
// text with an even count of quotes before it is a top-level key; checking
// that costs a few vectorised scans instead of a walk over every value.
func jsonTime(line []byte, i int, s *stamp) bool {
	for r, key := range jsonKeyText {
		for from := i + 1; from < len(line); {
			at := indexKey(line, from, key, jsonKeyRare[r])
			if at < 0 {
				break
			}
			from = at + 1
			before := line[i+1 : at]
			if !flatJSON(before) {
				return walkJSON(line, i, s)
			}
			if bytes.Count(before, quote)%2 == 0 && jsonValue(line, skipJSONSpace(line, at+len(key)), s) {
				s.kind = kindJSON
				return true
			}
		}
	}
	return false
}

var (
	quote       = []byte{'"'}
	jsonKeyText = [...][]byte{[]byte(`"time":`), []byte(`"ts":`), []byte(`"timestamp":`), []byte(`"@timestamp":`), []byte(`"t":`)}
	// jsonKeyRare is, for each key, the index of the byte that the search
	// looks for with bytes.IndexByte: one that is rare in JSON lines ('m' is
	// absent from hex IDs, ':' comes once per field), since a search for
	// the leading quote stops at every string; `"t":` has none better.
	jsonKeyRare = [...]int{3, 4, 3, 1, 3}
)

// flatJSON reports whether b, the text of an object before a key, holds no
// backslash and no nested object or array: a bracket inside a string (an
// IPv6 "[2001:db8::1]:3569") has an odd count of quotes before it.
func flatJSON(b []byte) bool {
	if bytes.IndexByte(b, '\\') >= 0 {
		return false
	}
	return !bracketOutside(b, '{') && !bracketOutside(b, '[')
}

func bracketOutside(b []byte, c byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return false
		}
		i += j
		if bytes.Count(b[:i], quote)%2 == 0 {
			return true
		}
	}
}

// indexKey returns the index of the first key in line[i:], or -1.
func indexKey(line []byte, i int, key []byte, rare int) int {
	c := key[rare]
	for fails := 0; i+rare < len(line); fails++ {
		if fails == 16 {
			// The line is dense in c: bytes.Index is linear whatever the text.
			if j := bytes.Index(line[i:], key); j >= 0 {
				return i + j
			}
			return -1
		}
		j := bytes.IndexByte(line[i+rare:], c)
		if j < 0 {
			return -1
		}
		at := i + j
		if at+len(key) <= len(line) && bytes.Equal(line[at:at+len(key)], key) {
			return at
		}
		i = at + 1
	}
	return -1
}

// walkJSON is jsonTime by a walk over the object's top-level members.
func walkJSON(line []byte, i int, s *stamp) bool {
	best := len(jsonKeys) // rank of the key in s; none yet
	i++                   // '{'
	for {
		i = skipJSONSpace(line, i)
		if i >= len(line) || line[i] != '"' {
			return best < len(jsonKeys) // '}' or not JSON
		}
		ke := stringEnd(line, i)
		if ke < 0 {
			return best < len(jsonKeys)
		}
		key := line[i+1 : ke]
		i = skipJSONSpace(line, ke+1)
		if i >= len(line) || line[i] != ':' {
			return best < len(jsonKeys)
		}
		i = skipJSONSpace(line, i+1)
		var v stamp
		if r := keyRank(key); r < best && jsonValue(line, i, &v) {
			v.kind = kindJSON
			*s, best = v, r
			if r == 0 {
				return true
			}
		}
		if i = skipJSONValue(line, i); i < 0 {
			return best < len(jsonKeys)
		}
		i = skipJSONSpace(line, i)
		if i >= len(line) || line[i] != ',' {
			return best < len(jsonKeys)
		}
		i++
	}
}

func keyRank(k []byte) int {
	for r, w := range jsonKeys {
		if string(k) == w { // no allocation: compared, not kept
			return r
		}
	}
	return len(jsonKeys)
}

// jsonValue reads a time from the string or number at line[i:].
func jsonValue(line []byte, i int, s *stamp) bool {
	if i >= len(line) {
		return false
	}
	if line[i] == '"' {
		e := stringEnd(line, i)
		return e > 0 && e-i-1 <= maxValue && valueAt(line, i+1, e, s)
	}
	e := i
	for e < len(line) && e-i <= maxValue && !endsJSONToken(line[e]) {
		e++
	}
	return valueAt(line, i, e, s)
}

// valueAt parses line[i:e] as one whole time and places it in the line.
func valueAt(line []byte, i, e int, s *stamp) bool {
	if !parseWhole(line[i:e], s) {
		return false
	}
	s.pos += i
	s.end += i
	return true
}

// stringEnd returns the index of the quote that closes the string opening at
// line[i], or -1.
func stringEnd(line []byte, i int) int {
	for j := i + 1; j < len(line); {
		q := bytes.IndexByte(line[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		n := 0 // backslashes before the quote: an odd count escapes it
		for k := q - 1; k > i && line[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		j = q + 1
	}
	return -1
}

// skipJSONValue returns where the value at line[i:] ends, or -1.
func skipJSONValue(line []byte, i int) int {
	if i >= len(line) {
		return -1
	}
	switch line[i] {
	case '"':
		if e := stringEnd(line, i); e > 0 {
			return e + 1
		}
		return -1
	case '{', '[':
		depth := 0
		for i < len(line) {
			switch line[i] {
			case '"':
				e := stringEnd(line, i)
				if e < 0 {
					return -1
				}
				i = e
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(line) && !endsJSONToken(line[i]) {
		i++
	}
	return i
}

func skipJSONSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r') {
		i++
	}
	return i
}

func endsJSONToken(c byte) bool {
	return c == ' ' || c == '\t' || c == ',' || c == '}' || c == ']'
}

// logfmtTime reads the time key among the logfmt pairs that start the text
// at line[i:] ("time=… level=INFO msg=…", "level=info ts=… msg=…"), or
// auditd's "type=… msg=audit(…):". The search ends at msg=, at the first
// word that is no key=value pair, and at ScanLimit: what follows is the
// message and the values it carries.
func logfmtTime(line []byte, i int, s *stamp) bool {
	if i >= len(line) || line[i] < 'a' || line[i] > 'z' {
		return false // loggers' keys are lower case; sshd's "Invalid user" is no pair
	}
	limit := min(len(line), i+ScanLimit)
	audit := false // after auditd's type=, whose msg= is never quoted
	for i < limit {
		k := i
		for i < limit && isKeyByte(line[i]) {
			i++
		}
		if i == k || i >= limit || line[i] != '=' {
			return false
		}
		key := line[k:i]
		i++
		vs, ve, quoted := i, i, i < len(line) && line[i] == '"'
		if quoted {
			e := stringEnd(line, i)
			if e < 0 {
				return false
			}
			vs, ve, i = i+1, e, e+1
		} else {
			for i < len(line) && !isSpace(line[i]) {
				i++
			}
			ve = i
		}
		switch {
		case isKey(logfmtKeys, key):
			if ve-vs > maxValue || !valueAt(line, vs, ve, s) {
				return false
			}
			s.kind = kindLogfmt
			return true
		case string(key) == "msg":
			return audit && !quoted && auditValue(line[:ve], vs, s)
		case string(key) == "type":
			audit = true
		}
		if i >= len(line) || !isSpace(line[i]) {
			return false
		}
		for i < len(line) && isSpace(line[i]) {
			i++
		}
	}
	return false
}

func isKeyByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '@'
}
