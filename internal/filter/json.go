package filter

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

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
	rule    prefixRule // a <PREFIX> token as the prefix
	root    *pathNode
	journal []jsonCond // conditions on journald fields, tested first
	conds   []jsonCond // conditions on the object, in spec order
	needles []needle
	host    jsonField
	hasHost bool
	ids     []jsonField // identity fields, tried in order
	times   []jsonField
	// learn are the conditions of lines that only teach (JSONSpec.Learn),
	// with their own needles; hasSelf says self names the own-ID field.
	learn        []jsonCond
	learnNeedles []needle
	self         jsonField
	hasSelf      bool
	also         jsonField
	hasAlso      bool
}

var _ Filter = (*JSONFilter)(nil)

// NewJSON compiles s. A bad prefix or condition is reported as a
// *PatternError naming it.
func NewJSON(name string, s *JSONSpec) (*JSONFilter, error) {
	if s == nil {
		return nil, fmt.Errorf("json filter %q: %w", name, errNoHostField)
	}
	f := &JSONFilter{root: &pathNode{slot: -1}}
	if strings.HasPrefix(s.Prefix, prefixToken) {
		rule, n, err := parsePrefixToken(s.Prefix)
		if err == nil && n != len(s.Prefix) {
			err = errors.New("a <PREFIX> token stands alone as a json filter's prefix")
		}
		if err != nil {
			return nil, &PatternError{Field: "prefix", Err: err}
		}
		f.rule = rule
	} else if s.Prefix != "" {
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
	for i, c := range s.Learn {
		k, err := compileCond(f.root, c)
		if err == nil && k.journal != "" {
			err = errors.New("learn conditions are on the object, not journal fields")
		}
		if err == nil && f.root.number(0) > maxSlots {
			err = errTooManyPaths
		}
		if err != nil {
			return nil, &PatternError{Field: "learn", Index: i, Err: err}
		}
		f.learn = append(f.learn, k)
		if n := k.needle(); n != "" {
			f.learnNeedles = append(f.learnNeedles, newNeedle(n))
		}
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
	if s.Host != "" {
		if f.host, err = parsePath(f.root, s.Host); err != nil {
			return fmt.Errorf("host: %w", err)
		}
		f.hasHost = true
	}
	ids := s.FallbackIDs
	if s.ID != "" {
		ids = append([]string{s.ID}, ids...)
	}
	for _, p := range ids {
		id, err := parsePath(f.root, p)
		if err != nil {
			return fmt.Errorf("id: %w", err)
		}
		f.ids = append(f.ids, id)
	}
	if !f.hasHost && len(f.ids) == 0 {
		return errNoHostField
	}
	if s.SelfID != "" {
		if f.self, err = parsePath(f.root, s.SelfID); err != nil {
			return fmt.Errorf("self_id: %w", err)
		}
		f.hasSelf = true
	}
	if s.AlsoID != "" {
		if f.also, err = parsePath(f.root, s.AlsoID); err != nil {
			return fmt.Errorf("also_id: %w", err)
		}
		f.hasAlso = true
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
	var h Hit
	out := f.MatchInto(l, &h)
	return h, out
}

// MatchInto implements IntoMatcher: a line the pre-checks reject writes
// nothing.
func (f *JSONFilter) MatchInto(l *logline.Line, h *Hit) Outcome {
	if l == nil {
		return Miss
	}
	// Journald conditions come first: they cost a map lookup, and a filter
	// on one unit's messages must see other units' (not JSON) as Misses.
	for i := range f.journal {
		if !f.journal[i].holdsJournal(l.Fields) {
			return Miss
		}
	}
	text := l.Text
	if len(text) > maxJSONLine {
		*h = Hit{}
		return Unparsed
	}
	if !f.mayMatch(text) {
		return Miss
	}
	hit, out := f.match(l, text)
	if out != Miss {
		*h = hit
	}
	return out
}

// match reads a line the pre-checks let through.
func (f *JSONFilter) match(l *logline.Line, text []byte) (Hit, Outcome) {
	body, out := f.strip(text)
	if out != Match {
		return Hit{}, out
	}
	var vals [maxSlots]valueSpan
	if !scanLine(body, f.root, vals[:]) {
		return Hit{}, Unparsed
	}
	if !holdAll(f.conds, body, &vals) {
		return f.teach(l, body, &vals)
	}
	host, ok := f.hostOf(l, body, &vals)
	id := f.idOf(l, body, &vals)
	self := f.selfOf(l, body, &vals)
	if !ok {
		return Hit{ID: id, SelfID: self}, NoHost
	}
	return Hit{Host: host, ID: id, SelfID: self, Time: f.timeOf(l, body, &vals), Weight: 1}, Match
}

func holdAll(conds []jsonCond, body []byte, vals *[maxSlots]valueSpan) bool {
	for i := range conds {
		k := &conds[i]
		if !k.holdsJSON(body, vals[k.node.slot]) {
			return false
		}
	}
	return true
}

// teach reads a line that is no failure: with learn conditions that hold,
// the identity and the address it names; and the node's own identity.
func (f *JSONFilter) teach(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) (Hit, Outcome) {
	var h Hit
	if len(f.learn) > 0 && holdAll(f.learn, body, vals) {
		if host, ok := f.hostOf(l, body, vals); ok && host.Addr.IsValid() {
			if h.ID = f.idOf(l, body, vals); h.ID != "" {
				h.Host = host
				h.Time = f.timeOf(l, body, vals)
				if h.AlsoID = f.alsoOf(l, body, vals); h.AlsoID == h.ID {
					h.AlsoID = ""
				}
			}
		}
	}
	if h.SelfID = f.selfOf(l, body, vals); h.ID == "" && h.SelfID == "" {
		return Hit{}, Miss
	}
	if h.ID == "" {
		h.Time = f.timeOf(l, body, vals)
	}
	return h, Learned
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
	if allIn(f.needles, text) || (f.learn != nil && allIn(f.learnNeedles, text)) {
		return true
	}
	return bytes.Contains(text, unicodeEscape)
}

func allIn(ns []needle, text []byte) bool {
	for i := range ns {
		if !ns[i].in(text) {
			return false
		}
	}
	return true
}

// strip removes the prefix from a line that does not start with '{'. The
// outcome is Match when body is the JSON to read, Unparsed when the prefix
// is not there, Miss when a relay tagged the line with another program.
func (f *JSONFilter) strip(text []byte) ([]byte, Outcome) {
	if f.prefix == nil && !f.rule.on {
		return text, Match
	}
	if i := jsonSkipWS(text, 0); i < len(text) && text[i] == '{' {
		return text, Match
	}
	if f.rule.on {
		var pl prefixedLine
		body, ok := pl.message(text, &f.rule)
		if !ok {
			return nil, Miss
		}
		return body, Match
	}
	loc := f.prefix.FindIndex(text)
	if loc == nil {
		return nil, Unparsed
	}
	return text[loc[1]:], Match
}

// hostOf reads whom the line blames: the address in the host field or,
// when that field is absent or holds a relay's address, the first identity
// field present. A host field that holds no IP address blames nobody.
func (f *JSONFilter) hostOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) (Host, bool) {
	if f.hasHost {
		if text, k := f.value(l, body, vals, f.host); k == kString {
			a, relayed, ok := parseHost(text)
			if !relayed {
				return Host{Addr: a}, ok
			}
		}
	}
	for _, id := range f.ids {
		text, k := f.value(l, body, vals, id)
		if k == kAbsent || k == kNull {
			continue
		}
		if k != kString || len(text) == 0 || len(text) > maxID {
			return Host{}, false
		}
		return Host{ID: string(text)}, true
	}
	return Host{}, false
}

// idOf reads the first identity field present; "" when it is not a usable
// string.
func (f *JSONFilter) idOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) string {
	for _, id := range f.ids {
		text, k := f.value(l, body, vals, id)
		if k == kAbsent || k == kNull {
			continue
		}
		if k != kString || len(text) == 0 || len(text) > maxID {
			return ""
		}
		return alias(text)
	}
	return ""
}

// alsoOf reads the peer's other identity field; "" when there is none.
func (f *JSONFilter) alsoOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) string {
	if !f.hasAlso {
		return ""
	}
	text, k := f.value(l, body, vals, f.also)
	if k != kString || len(text) == 0 || len(text) > maxID {
		return ""
	}
	return alias(text)
}

// selfOf reads the node's own identity field; "" when there is none.
func (f *JSONFilter) selfOf(l *logline.Line, body []byte, vals *[maxSlots]valueSpan) string {
	if !f.hasSelf {
		return ""
	}
	text, k := f.value(l, body, vals, f.self)
	if k != kString || len(text) == 0 || len(text) > maxID {
		return ""
	}
	return alias(text)
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
