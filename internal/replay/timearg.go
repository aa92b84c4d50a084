package replay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadTime is returned by ParseTime for a time it does not know.
var ErrBadTime = errors.New("not a time")

// TimeForms lists what ParseTime accepts, for messages and help.
const TimeForms = `RFC 3339 (2026-12-01T08:00:00Z, 2026-12-01T08:00:00+01:00), ` +
	`local "2026-12-01 08:00[:05]" or "2026-12-01", "now", "today", "yesterday", ` +
	`a signed offset from now ("-2h", "-1d12h", "-90m", "+1h") or "@" and Unix seconds`

// localForms are journalctl's --since forms without a zone: local time.
var localForms = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseTime reads a --since or --until value: a subset of journalctl's
// forms (see TimeForms). Zone-less forms are in loc; offsets count from now.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	midnight := func(d int) time.Time {
		y, m, day := now.In(loc).Date()
		return time.Date(y, m, day+d, 0, 0, 0, 0, loc)
	}
	switch s {
	case "now":
		return now, nil
	case "today":
		return midnight(0), nil
	case "yesterday":
		return midnight(-1), nil
	case "tomorrow":
		return midnight(1), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, f := range localForms {
		if t, err := time.ParseInLocation(f, s, loc); err == nil {
			return t, nil
		}
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		if sec, err := strconv.ParseInt(rest, 10, 64); err == nil {
			return time.Unix(sec, 0), nil
		}
	}
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if d, ok := parseOffset(s[1:]); ok {
			if s[0] == '-' {
				d = -d
			}
			return now.Add(d), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: %w: expected %s", s, ErrBadTime, TimeForms)
}

// parseOffset reads a Go duration that may start with whole days ("1d6h").
func parseOffset(s string) (time.Duration, bool) {
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil {
			return 0, false
		}
		days, s = n, s[i+1:]
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, false
		}
	} else if days == 0 {
		return 0, false
	}
	return time.Duration(days)*24*time.Hour + d, true
}
