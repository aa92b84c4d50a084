package timestamp

import "bytes"

// keyText holds the time keys, from kindJSONTime to kindTextTimestamp: JSON
// (zerolog, zap, slog's JSON handler, logstash) and logfmt (slog's text
// handler, go-kit, go-log).
var keyText = [...][]byte{
	[]byte(`"time":`), []byte(`"ts":`), []byte(`"timestamp":`), []byte(`"@timestamp":`),
	[]byte(`time=`), []byte(`ts=`), []byte(`timestamp=`),
}

// keyRare is, for each key, the index of the byte that the search looks for
// with bytes.IndexByte: one that is rare in JSON or logfmt lines ('m' is
// absent from hex IDs, '=' and ':' come once per field), since bytes.Index
// goes byte by byte over lines dense in quotes.
var keyRare = [...]int{3, 4, 3, 1, 4, 2, 9}

// indexKey returns the index of the first key in line[i:end], or -1.
func indexKey(line []byte, i, end int, key []byte, rare int) int {
	c := key[rare]
	for fails := 0; i+rare < end; fails++ {
		if fails == 16 {
			// The line is dense in c (a hostile one, or not a log):
			// bytes.Index is linear whatever the text.
			if j := bytes.Index(line[i:end], key); j >= 0 {
				return i + j
			}
			return -1
		}
		j := bytes.IndexByte(line[i+rare:end], c)
		if j < 0 {
			return -1
		}
		at := i + j
		if at+len(key) <= end && line[at] == key[0] && bytes.Equal(line[at:at+len(key)], key) {
			return at
		}
		i = at + 1
	}
	return -1
}

// maxValue bounds the search for a quoted value's end: no timestamp is longer.
const maxValue = 64

// findKey reads the value of the first key of kind k in line that holds a
// timestamp sp accepts. JSON keys are searched in the whole line, since a JSON
// logger may write the time field last; logfmt keys in the scanned prefix.
func (sp *spec) findKey(line []byte, k kind, from int, s *stamp) bool {
	key, rare := keyText[k-firstKey], keyRare[k-firstKey]
	json := key[0] == '"'
	end := len(line)
	if !json {
		end = min(end, ScanLimit+len(key))
	}
	for i := from; i < end; {
		at := indexKey(line, i, end, key, rare)
		if at < 0 {
			break
		}
		i = at + 1
		if !json && at > 0 && line[at-1] != ' ' && line[at-1] != '\t' {
			continue // "uptime=", "counts="
		}
		if keyValue(line, at+len(key), json, s) {
			s.kind, s.keyed = k, true
			if sp.accepts(s) {
				return true
			}
		}
	}
	return false
}

// keyValue reads the value at line[i:]: a quoted string or a bare token
// holding an ISO date-time or an epoch number.
func keyValue(line []byte, i int, json bool, s *stamp) bool {
	for json && i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) {
		return false
	}
	var v []byte
	if line[i] == '"' {
		i++
		rest := line[i:min(len(line), i+maxValue)]
		q := bytes.IndexByte(rest, '"')
		if q < 0 {
			return false
		}
		v = rest[:q]
	} else {
		e := i
		for e < len(line) && e-i <= maxValue && !endsToken(line[e]) {
			e++
		}
		v = line[i:e]
	}
	if !parseWhole(v, s) {
		return false
	}
	s.pos += i
	s.end += i
	return true
}

func endsToken(c byte) bool {
	return c == ' ' || c == '\t' || c == ',' || c == '}' || c == ']'
}

// startsKey reports whether b starts with a logfmt time key.
func startsKey(b []byte) bool {
	if len(b) == 0 || b[0] != 't' {
		return false
	}
	for _, key := range keyText[kindTextTime-firstKey:] {
		if bytes.HasPrefix(b, key) {
			return true
		}
	}
	return false
}
