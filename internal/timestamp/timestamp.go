// Package timestamp finds and parses the time a log line was written.
package timestamp

import (
	"sync/atomic"
	"time"
)

// ScanLimit is how far into a line free-text timestamps are searched for.
// JSON time keys ("time":) are searched in the whole line, since JSON loggers
// may write them last.
const ScanLimit = 512

// Options configure a Detector.
type Options struct {
	// Pattern is the operator's datepattern: "" for automatic detection, a name
	// (iso8601, rfc3339, syslog, epoch, epoch_ms) or a strftime pattern such
	// as "%Y-%m-%d %H:%M:%S"; see ValidatePattern.
	Pattern string
	// Location is the zone of times written without one; nil means time.Local.
	Location *time.Location
	// Reference returns the time that years are inferred from, for syslog
	// stamps which have none; nil means time.Now.
	Reference func() time.Time
}

// Detector finds the timestamp in lines from one source. It remembers the
// format that won on the last line where it ran full detection and searches
// for that one first. It is safe for concurrent use.
type Detector struct {
	loc   *time.Location
	ref   func() time.Time
	spec  spec
	pat   *pattern      // strftime pattern; nil otherwise
	cache atomic.Uint32 // the kind that won the last full detection
	year  atomic.Uint64 // the year memo, see inferYear
	zone  atomic.Pointer[zoneSpan]
}

// NewDetector makes a Detector; it fails only on a bad Pattern.
func NewDetector(o Options) (*Detector, error) {
	d := &Detector{loc: o.Location, ref: o.Reference, spec: automatic}
	if d.loc == nil {
		d.loc = time.Local
	}
	if d.ref == nil {
		d.ref = time.Now
	}
	if o.Pattern != "" {
		sp, pat, err := compile(o.Pattern)
		if err != nil {
			return nil, err
		}
		d.spec, d.pat = sp, pat
	}
	return d, nil
}

// Find returns the time written in line; ok is false when it holds none.
//
// Date-times are searched for in the first ScanLimit bytes, JSON time keys in
// the whole line. Epoch numbers count only at the start of the line, as a
// time key's value or in auditd's "audit(…)", never in a message. When
// several timestamps are present (a syslog prefix before the program's own),
// the finest wins, then a time key's value, then the earliest. Times with a
// zone and epoch numbers come back in UTC, others in Options.Location.
func (d *Detector) Find(line []byte) (t time.Time, ok bool) {
	var s stamp
	if d.pat != nil {
		ok = d.pat.find(line, &s)
	} else {
		ok = d.locate(line, &s)
	}
	if !ok {
		return time.Time{}, false
	}
	year := s.year
	if s.yearless {
		if year, ok = d.inferYear(&s); !ok {
			return time.Time{}, false
		}
	}
	if s.epoch || s.zoned {
		return build(&s, year, d.loc)
	}
	return d.local(&s, year)
}
