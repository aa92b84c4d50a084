package timestamp

import "testing"

// refParseISOAt is parseISOAt before it was split in two for Recent
// (commit 1294edc), the oracle of FuzzParseISOAt.
func refParseISOAt(b []byte, p int, s *stamp) bool {
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
	*s = stamp{}
	var ok1, ok2, ok3 bool
	s.year, ok1 = num4(b, p)
	s.mon, ok2 = num2(b, p+5)
	s.day, ok3 = num2(b, p+8)
	e := timeOfDay(b, p+11, s)
	if !ok1 || !ok2 || !ok3 || e < 0 || !s.validClock() {
		return false
	}
	e = zone(b, e, s, between == ' ')
	if e < len(b) && isDigit(b[e]) {
		return false
	}
	s.pos, s.end, s.kind = p, e, kindISO
	if sep == '/' {
		s.kind = kindGoLog
	}
	return true
}

// FuzzParseISOAt checks that parseISOAt reads every text as it did before
// the split.
func FuzzParseISOAt(f *testing.F) {
	for _, v := range []string{"2024-07-27T00:00:00.014Z", "2024-07-27 00:00:00,123 UTC", "2024/07/27 00:00:00.123456",
		"x2024-07-27T00:00:00Z", "2024-07-27T00:00:0", "2024-07-27T24:00:00", "2024-02-30T00:00:00", "2024-07-27T00:00:00+02:00",
		"2024-07-27T00:00:001", "2024-07-27t00:00:00.5-0130 ", "2024-07-27T00:60:00"} {
		f.Add([]byte(v), 0)
		f.Add([]byte("a "+v), 2)
	}
	f.Fuzz(func(t *testing.T, b []byte, p int) {
		var got, want stamp
		gotOK, wantOK := parseISOAt(b, p, &got), refParseISOAt(b, p, &want)
		if gotOK != wantOK || (gotOK && got != want) {
			t.Fatalf("parseISOAt(%q, %d) = %+v %v, before the split %+v %v", b, p, got, gotOK, want, wantOK)
		}
	})
}
