package filter

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/rematch"
)

// hostPattern is what <HOST> stands for: a bracketed IPv6 with optional port,
// a multiaddr, or a run of address characters (IPv4, IPv6, v4:port). It is
// deliberately loose; the captured text is then checked by addr.Parse, which
// is both stricter and much cheaper than an exact address regex.
const hostPattern = `(?P<host>\[[0-9A-Fa-f:.%]+\](?::\d{1,5})?|/ip[46]/[0-9A-Fa-f:.]+(?:/[^\s/]+)*|[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*)`

// idPattern is what <ID> stands for: a token such as a peer ID.
const idPattern = `(?P<id>[^\s"',;]+)`

// ErrNoPlaceholder is returned for a failure pattern that names no host.
var ErrNoPlaceholder = errors.New("needs exactly one <HOST> or <ID> (or a (?P<host>…) / (?P<id>…) group)")

// maxIDLen bounds an identity taken from a line: keys are kept in memory.
const maxIDLen = 256

type pattern struct {
	re *regexp.Regexp
	m  *rematch.Matcher // re, faster on ASCII lines
	// literal must occur in every line the pattern matches; checking for it
	// first makes lines that cannot match cost a substring search.
	literal []byte
	group   int // submatch index of host or id
	isID    bool
}

// RegexFilter is a fail2ban-style filter compiled to Go regexps (RE2: linear
// time in the line's length, whatever the line).
type RegexFilter struct {
	name   string
	fail   []pattern
	ignore []pattern
}

// NewRegex compiles s. Errors are *PatternError.
func NewRegex(name string, s *RegexSpec) (*RegexFilter, error) {
	if len(s.Fail) == 0 {
		return nil, &PatternError{Field: "fail", Err: errors.New("no patterns (e.g. 'Failed password for .* from <HOST>')")}
	}
	f := &RegexFilter{name: name}
	for i, src := range s.Fail {
		p, err := compileFail(src)
		if err != nil {
			return nil, &PatternError{Field: "fail", Index: i, Err: err}
		}
		f.fail = append(f.fail, p)
	}
	for i, src := range s.Ignore {
		re, err := regexp.Compile(expand(src))
		if err != nil {
			return nil, &PatternError{Field: "ignore", Index: i, Err: cleanRegexpError(err, src)}
		}
		f.ignore = append(f.ignore, pattern{re: re, m: rematch.New(re), literal: requiredLiteral(re.String())})
	}
	return f, nil
}

// expand replaces the placeholders; both spellings fail2ban users know work.
func expand(src string) string {
	r := strings.NewReplacer("<HOST>", hostPattern, "<ADDR>", hostPattern, "<ID>", idPattern)
	return r.Replace(src)
}

func compileFail(src string) (pattern, error) {
	re, err := regexp.Compile(expand(src))
	if err != nil {
		return pattern{}, cleanRegexpError(err, src)
	}
	host, id := re.SubexpIndex("host"), re.SubexpIndex("id")
	names := 0
	for _, n := range re.SubexpNames() {
		if n == "host" || n == "id" {
			names++
		}
	}
	if names != 1 {
		return pattern{}, ErrNoPlaceholder
	}
	p := pattern{re: re, m: rematch.New(re), literal: requiredLiteral(re.String()), group: host}
	if host < 0 {
		p.group, p.isID = id, true
	}
	return p, nil
}

// cleanRegexpError names the problem and the pattern as the operator wrote
// it, not regexp's message, which repeats the expanded pattern with
// <HOST> spelled out.
func cleanRegexpError(err error, src string) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		if se.Expr == src {
			return fmt.Errorf("%s: %q", se.Code, src)
		}
		if strings.Contains(src, se.Expr) {
			return fmt.Errorf("%s: %q in %q", se.Code, se.Expr, src)
		}
		return fmt.Errorf("%s in %q", se.Code, src)
	}
	return err
}

// Match implements Filter.
func (f *RegexFilter) Match(l *logline.Line) (Hit, Outcome) {
	text := l.Text
	for i := range f.fail {
		p := &f.fail[i]
		if len(p.literal) > 0 && !bytes.Contains(text, p.literal) {
			continue
		}
		m := p.m.FindSubmatchIndex(text)
		if m == nil {
			continue
		}
		if f.ignored(text) {
			return Hit{}, Ignored
		}
		h, ok := p.host(text, m)
		if !ok {
			return Hit{Rule: i}, NoHost
		}
		return Hit{Host: h, Rule: i, Weight: 1}, Match
	}
	return Hit{}, Miss
}

func (f *RegexFilter) ignored(text []byte) bool {
	for i := range f.ignore {
		p := &f.ignore[i]
		if len(p.literal) > 0 && !bytes.Contains(text, p.literal) {
			continue
		}
		if p.m.Match(text) {
			return true
		}
	}
	return false
}

func (p *pattern) host(text []byte, m []int) (Host, bool) {
	lo, hi := m[2*p.group], m[2*p.group+1]
	if lo < 0 {
		return Host{}, false
	}
	tok := text[lo:hi]
	if p.isID {
		if len(tok) == 0 || len(tok) > maxIDLen {
			return Host{}, false
		}
		return Host{ID: string(tok)}, true
	}
	a, ok := addr.Parse(tok)
	return Host{Addr: a}, ok
}
