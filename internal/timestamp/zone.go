package timestamp

import (
	"math"
	"time"
)

// zoneSpan is a period in which the detector's Location keeps one offset,
// so that a zone-less wall-clock time in it converts with a subtraction
// instead of time.Date's zone lookup.
type zoneSpan struct {
	start, end int64 // Unix seconds, end excluded
	off        int64 // seconds east of UTC
}

// local converts a zone-less stamp in year to a time in the detector's
// Location.
func (d *Detector) local(s *stamp, year int) (time.Time, bool) {
	if d.loc == time.UTC {
		return build(s, year, d.loc)
	}
	if year < 0 || year > 9999 || s.day > daysIn(s.mon, year) {
		return time.Time{}, false
	}
	wall := s.wall(year)
	if z := d.zone.Load(); z != nil {
		if u := wall - z.off; u >= z.start && u < z.end {
			return time.Unix(u, int64(s.nsec)).In(d.loc), true
		}
	}
	// A new zone period (a DST change), or a wall time that does not exist
	// in this one: time.Date decides, and its period is remembered.
	t := time.Date(year, time.Month(s.mon), s.day, s.hour, s.min, s.sec, s.nsec, d.loc)
	if z, cur := spanOf(t), d.zone.Load(); cur == nil || *cur != z {
		fresh := z // allocated only when the period changes
		d.zone.Store(&fresh)
	}
	return t, true
}

func spanOf(t time.Time) zoneSpan {
	_, off := t.Zone()
	z := zoneSpan{start: math.MinInt64, end: math.MaxInt64, off: int64(off)}
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		z.start = start.Unix()
	}
	if !end.IsZero() {
		z.end = end.Unix()
	}
	return z
}
