package audit

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// errTime is a time JSON cannot carry (encoding/json refuses it too).
var errTime = errors.New("time outside years 0-9999")

// appendRecord appends r's JSON, byte for byte what encoding/json writes
// with HTML escaping off, without reflection: a ban storm encodes one
// record per ban on the counting goroutine, and reflection made that a
// quarter of its cost (FuzzEncode holds the two equal).
func appendRecord(b []byte, r *Record) ([]byte, error) {
	var err error
	b = append(b, `{"time":`...)
	if b, err = appendTime(b, r.Time); err != nil {
		return b, err
	}
	b = appendStringField(append(b, ','), "event", r.Event)
	b = appendOptString(b, "by", r.By)
	if r.UID != nil {
		b = strconv.AppendUint(append(b, `,"uid":`...), uint64(*r.UID), 10)
	}
	b = appendOptString(b, "jail", r.Jail)
	b = appendOptString(b, "key", r.Key)
	b = appendOptStrings(b, "addrs", r.Addrs)
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"at", r.At}, {"until", r.Until}} {
		if !f.t.IsZero() {
			b = append(append(append(b, `,"`...), f.name...), `":`...)
			if b, err = appendTime(b, f.t); err != nil {
				return b, err
			}
		}
	}
	b = appendOptInt(b, "hits", r.Hits)
	b = appendOptInt(b, "offences", r.Offences)
	b = appendOptInt(b, "escalated_from", r.EscalatedFrom)
	b = appendOptString(b, "filter", r.Filter)
	if p := r.Policy; p != nil {
		b = appendStringField(append(b, `,"policy":{`...), "findtime", p.FindTime)
		b = strconv.AppendInt(append(b, `,"maxretry":`...), int64(p.MaxRetry), 10)
		b = append(appendStringField(append(b, ','), "bantime", p.BanTime), '}')
	}
	b = appendOptStrings(b, "sources", r.Sources)
	b = appendOptStrings(b, "evidence", r.Evidence)
	if len(r.Actions) > 0 {
		b = append(b, `,"actions":[`...)
		for i, a := range r.Actions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStringField(append(b, '{'), "action", a.Action)
			b = strconv.AppendBool(append(b, `,"ok":`...), a.OK)
			if a.Queued {
				b = append(b, `,"queued":true`...)
			}
			b = append(appendOptString(b, "error", a.Error), '}')
		}
		b = append(b, ']')
	}
	b = appendOptStrings(b, "reporters", r.Reporters)
	if r.OK != nil {
		b = strconv.AppendBool(append(b, `,"ok":`...), *r.OK)
	}
	b = appendOptString(b, "error", r.Error)
	b = appendOptString(b, "config", r.Config)
	return append(b, '}'), nil
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, errTime
	}
	b = append(b, '"')
	return append(t.AppendFormat(b, time.RFC3339Nano), '"'), nil
}

func appendStringField(b []byte, name, v string) []byte {
	b = append(append(append(b, '"'), name...), `":`...)
	return appendString(b, v)
}

func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendStringField(append(b, ','), name, v)
}

func appendOptInt(b []byte, name string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return strconv.AppendInt(b, int64(v), 10)
}

func appendOptStrings(b []byte, name string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string as encoding/json does without
// HTML escaping: invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are
// escaped for JavaScript's sake.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
