package filter

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// maxID bounds the identity a JSON field may name, so a hostile log cannot
// make the jail keep arbitrarily long keys.
const maxID = 256

// unicodeEscape starts the only escape that can hide a key from the
// pre-check (keys with other escapable characters get no needle).
var unicodeEscape = []byte(`\u`)

var errNoHostField = errors.New("neither host nor id names a field")

// defaultTimeKeys are the top-level keys read for the record's time, in order
// of preference, when the spec names none.
var defaultTimeKeys = []string{"time", "ts", "timestamp"}

// JSONFilter matches lines that hold one JSON object. It is immutable after
// NewJSON and safe for concurrent use.
type JSONFilter struct {
	prefix  *regexp.Regexp
	root    *pathNode
	journal []jsonCond // conditions on journald fields, tested first
	conds   []jsonCond // conditions on the object, in spec order
	needles []needle
	host    jsonField
	id      jsonField
	times   []jsonField
}

var _ Filter = (*JSONFilter)(nil)

// NewJSON compiles s. A bad prefix or condition is reported as a
// *PatternError naming it.
func NewJSON(name string, s *JSONSpec) (*JSONFilter, error) {
	if s == nil {
		return nil, fmt.Errorf("json filter %q: %w", name, errNoHostField)
	}
	f := &JSONFilter{root: &pathNode{slot: -1}}
	if s.Prefix != "" {
		// Compiled alone first, so that a prefix such as "a)|(b" cannot
		// escape the anchor added around it.
		_, err := regexp.Compile(s.Prefix)
		if err == nil {
			f.prefix, err = regexp.Compile(`^(?:` + s.Prefix + `)`)
		}
		if err != nil {
			return nil, &PatternError{Field: "prefix", Err: err}
		}
	}
	for i, c := range s.Match {
		k, err := compileCond(f.root, c)
		if err != nil {
			return nil, &PatternError{Field: "match", Index: i, Err: err}
		}
		if f.root.number(0) > maxSlots {
			return nil, &PatternError{Field: "match", Index: i, Err: errTooManyPaths}
		}
		f.addCond(k)
	}
	if err := f.compileFields(s); err != nil {
		return nil, fmt.Errorf("json filter %q: %w", name, err)
	}
	return f, nil
}

func (f *JSONFilter) addCond(k jsonCond) {
	if k.journal != "" {
		f.journal = append(f.journal, k)
	} else {
		f.conds = append(f.conds, k)
	}
	n := k.needle()
	if n == "" {
		return
	}
	for _, have := range f.needles {
		if string(have.text) == n {
			return
		}
	}
	f.needles = append(f.needles, newNeedle(n))
}

// compileFields reads the host, identity and time paths.
func (f *JSONFilter) compileFields(s *JSONSpec) error {
	var err error
	switch {
	case s.Host != "":
		if f.host, err = parsePath(f.root, s.Host); err != nil {
			return fmt.Errorf("host: %w", err)
		}
	case s.ID != "":
		if f.id, err = parsePath(f.root, s.ID); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	default:
		return errNoHostField
	}
	times := defaultTimeKeys
	if s.Time != "" {
		times = []string{s.Time}
	}
	for _, p := range times {
		t, err := parsePath(f.root, p)
		if err != nil {
			return fmt.Errorf("time: %w", err)
		}
		f.times = append(f.times, t)
	}
	if f.root.number(0) > maxSlots {
		return errTooManyPaths
	}
	return nil
}

// Match implements Filter.
func (f *JSONFilter) Match(l *logline.Line) (Hit, Outcome) {
	if l == nil {
		return Hit{}, Miss
	}
	// Journald conditions come first: they cost a map lookup, and a filter
	// on one unit's messages must see other units' (not JSON) as Misses.
	for i := range f.journal {
		if !f.journal[i].holdsJournal(l.Fields) {
			return Hit{}, Miss
		}
	}
	text := l.Text
	if len(text) > maxJSONLine {
		return Hit{}, Unparsed
	}
	if !f.mayMatch(text) {
		return Hit{}, Miss
	}
	body, ok := f.strip(text)
	if !ok {
		return Hit{}, Unparsed
	}
	var vals [maxSlots]valueSpan
	if !scanLine(body, f.root, vals[:]) {
		return Hit{}, Unparsed
	}
	for i := range f.conds {
		k := &f.conds[i]
		if !k.holdsJSON(body, vals[k.node.slot]) {
			return Hit{}, Miss
		}
	}
	host, ok := f.hostOf(l, body, &vals)
	if !ok {
		return Hit{}, NoHost
	}
	return Hit{Host: host, Time: f.timeOf(l, body, &vals), Weight: 1}, Match
}

// mayMatch is the pre-check: every condition that needs a key present needs
// its quoted text in the line. Skipping lines that lack one saves the scan
// for most lines; a line that escapes a key with \u is always scanned, so
// the check changes no match. Lines skipped here are a Miss even if they are
// not JSON: only lines the filter had to read are reported Unparsed.
//
// The host field is deliberately not part of the check: a line whose
// conditions hold but which lacks the host is a NoHost, not a Miss.
func (f *JSONFilter) mayMatch(text []byte) bool {
	for i := range f.needles {
		if !f.needles[i].in(text) {
			return bytes.Contains(text, unicodeEscape)
		}
	}
	return true
}

// strip removes the prefix from a line that does not start with '{'.
func (f *JSONFilter) strip(text []byte) ([]byte, bool) {
	if f.prefix == nil {
		return text, true
	}
	if i := jsonSkipWS(text, 0); i < len(text) && text[i] == '{' {
		return text, true
	}
	loc := f.prefix.FindIndex(text)
	if loc == nil {
		return nil, false
	}
	return text[loc[1]:], true
}

// hostOf reads the host (or identity) from the line.
func (f *JSONFilter) hostOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) (Host, bool) {
	if f.host.journal != "" || f.host.node != nil {
		text, k := f.value(l, body, vals, f.host)
		if k != kString {
			return Host{}, false
		}
		a, ok := addr.Parse(text)
		return Host{Addr: a}, ok
	}
	text, k := f.value(l, body, vals, f.id)
	if k != kString || len(text) == 0 || len(text) > maxID {
		return Host{}, false
	}
	return Host{ID: string(text)}, true
}

// timeOf reads the record's time from the first time field present; the zero
// time when it is absent or not a time.
func (f *JSONFilter) timeOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) time.Time {
	for _, fl := range f.times {
		text, k := f.value(l, body, vals, fl)
		if k == kAbsent {
			continue
		}
		if k == kString || k == kNumber {
			if t, ok := timestamp.ParseValue(text); ok {
				return t
			}
		}
		break
	}
	return time.Time{}
}

// value returns the kind of a field and its text: decoded for a string, as
// written for other kinds. A journald field is a string.
func (f *JSONFilter) value(l *logline.Line, body []byte, vals *[maxSlots]valueSpan, fl jsonField) ([]byte, jsonKind) {
	if fl.journal != "" {
		v, ok := l.Fields[fl.journal]
		if !ok {
			return nil, kAbsent
		}
		return []byte(v), kString
	}
	s := vals[fl.node.slot]
	text := body[s.start:s.end]
	if s.esc {
		text = jsonUnescape(nil, text)
	}
	return text, s.kind
}
