// Package timestamp finds and parses the time a log line was written.
//
// A line's time is read only where its writers put it: at the start of the
// line, and after a syslog relay's "host tag[pid]: " at the start of the
// program's message; as a JSON object's top-level time key; as a leading
// logfmt time key. Text further into a message is often written by whoever
// the log is about (a user name, a peer's error text), so a stamp there is
// never taken: it would let a client set the time that bans are judged by.
package timestamp

import (
	"sync/atomic"
	"time"
)

// ScanLimit bounds how far into a line its prefix is parsed: a syslog
// relay's header and the leading logfmt pairs end before it. JSON objects
// are read to their end, since JSON loggers may write the time key last.
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

// Detector finds the timestamp in lines from one source. It is safe for
// concurrent use.
type Detector struct {
	loc  *time.Location
	ref  func() time.Time
	spec spec
	pat  *pattern      // strftime pattern; nil otherwise
	year atomic.Uint64 // the year memo, see inferYear
	zone atomic.Pointer[zoneSpan]
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
// The stamp at the start of the line counts (after a "<PRI>" header, in
// brackets, or after a level as go-ethereum and CometBFT write it:
// "DEBUG[12-01|08:56:14.717]", "E[2026-12-01|08:56:14.717]"), and so does the
// one at the start of the program's message after a syslog relay's prefix,
// which wins when it is finer (a journal's seconds before go-log's
// milliseconds). A JSON object's top-level "time", "ts", "timestamp",
// "@timestamp" or "t" key, and a "time", "ts", "timestamp" or "t" key among
// the logfmt pairs before msg=, count as that position's stamp. Times with a
// zone and epoch numbers come back in UTC, others in Options.Location.
func (d *Detector) Find(line []byte) (t time.Time, ok bool) {
	return d.FindAfter(line, 0)
}

// FindAfter is Find for a line whose relay prefix the caller has parsed
// already: prefix is 1 + logprefix.Parse(line)'s Message, -1 when Parse
// found none, 0 when unknown (Find).
func (d *Detector) FindAfter(line []byte, prefix int) (t time.Time, ok bool) {
	return d.find(line, prefix, nil)
}

// find is FindAfter, with the stamps of recent lines when r is not nil.
func (d *Detector) find(line []byte, prefix int, r *Recent) (t time.Time, ok bool) {
	var lead, prog stamp
	s := &lead
	if d.pat != nil {
		ok = d.pat.find(line, s)
	} else {
		s = d.spec.winner(line, prefix, r, &lead, &prog)
		ok = s != nil
	}
	if !ok {
		return time.Time{}, false
	}
	year := s.year
	if s.yearless {
		if year, ok = d.inferYear(s); !ok {
			return time.Time{}, false
		}
	}
	if s.epoch || s.zoned {
		return build(s, year, d.loc)
	}
	return d.local(s, year)
}
