package timestamp

import "time"

// ParseValue parses a whole value as a time: an ISO 8601 / RFC 3339 date and
// time ("2024-07-27T00:00:00.123Z", "2024-07-27 00:00:00,123"), or the text of
// an epoch number (seconds with an optional fraction, or milliseconds,
// microseconds, nanoseconds: 10, 13, 16 or 19 digits). Surrounding double
// quotes are allowed. A value without a zone is local time (time.Local); use
// ParseValueIn to choose. It is what the JSON filter calls on a time field.
func ParseValue(s []byte) (time.Time, bool) {
	return ParseValueIn(s, time.Local)
}

// ParseValueIn is ParseValue with times without a zone read in loc.
func ParseValueIn(s []byte, loc *time.Location) (time.Time, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	var st stamp
	if !parseWhole(s, &st) {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.Local
	}
	return build(&st, st.year, loc)
}

// parseWhole reads v as one date-time or epoch number, with nothing around it.
func parseWhole(v []byte, s *stamp) bool {
	if len(v) >= 19 && (v[4] == '-' || v[4] == '/') {
		return parseISOAt(v, 0, s) && s.end == len(v)
	}
	return parseEpochAt(v, 0, s) && s.end == len(v)
}
