package timestamp

import "time"

// aheadLimit is how far past the reference time a yearless stamp may lie:
// clocks drift and logs are read late, but a stamp further ahead is last
// year's (a December line read in January).
const aheadLimit = 7 * 86400

// inferYear picks the latest year that puts s at most aheadLimit after the
// reference time.
//
// Reading the clock costs more than parsing a line, and the answer depends on
// the reference's day, not its nanosecond: so the year is remembered for the
// stamp's month, day and hour, and the reference is read again only when a
// stamp falls in another hour.
func (d *Detector) inferYear(s *stamp) (int, bool) {
	key := uint64(s.mon)<<10 | uint64(s.day)<<5 | uint64(s.hour)
	if m := d.year.Load(); m&yearValid != 0 && m>>yearShift == key {
		return int(m >> 16 & 0xffff), true
	}
	y, ok := yearFor(s, d.ref(), d.loc)
	if ok && y >= 0 && y <= 9999 {
		d.year.Store(key<<yearShift | uint64(y)<<16 | yearValid)
	}
	return y, ok
}

// The year memo packs into one word, for atomic access: the stamp's key
// (month, day, hour), the year, and a valid bit.
const (
	yearValid = 1
	yearShift = 32
)

// yearFor compares wall-clock times in loc; a DST change near the limit can
// move it by an hour, which does not matter for a one-week margin.
func yearFor(s *stamp, ref time.Time, loc *time.Location) (int, bool) {
	r := ref.In(loc)
	_, off := r.Zone()
	limit := r.Unix() + int64(off) + aheadLimit
	// Going back four years finds a leap year for February 29.
	for y := r.Year() + 1; y >= r.Year()-4; y-- {
		if s.day <= daysIn(s.mon, y) && s.wall(y) <= limit {
			return y, true
		}
	}
	return 0, false
}
