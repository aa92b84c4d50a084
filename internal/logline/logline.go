// Package logline defines the log record that flows from a source to the filters.
package logline

import "time"

// Line is one log record.
type Line struct {
	// Text is the record's text: the whole line of a file, or journald's MESSAGE.
	// It is only valid until the source produces the next Line; copy it to keep it.
	Text []byte
	// Time is journald's realtime stamp, or the time the line was read by a live
	// source. It is zero when the time must come from the text (replay).
	Time time.Time
	// TimeIsExact is true when Time is the record's own time (journald), so the
	// text need not be searched for a timestamp.
	TimeIsExact bool
	// Fields holds journald's fields (_SYSTEMD_UNIT, SYSLOG_IDENTIFIER, ...); nil
	// for text sources.
	Fields map[string]string
	// Source names where the line came from (a file path, "journal", "-").
	Source string
	// Number is the 1-based line number within Source, for reports.
	Number int64
	// Position is where reading resumes after this line: a journal cursor or a
	// file offset in decimal.
	Position string
	// Oversized marks a line longer than the sources keep (source.MaxLine):
	// Text is empty, and the line counts as unparsed.
	Oversized bool
}
