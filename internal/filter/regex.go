package filter

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/rematch"
)

// hostPattern is what <HOST> stands for: a bracketed IPv6 with optional port,
// a multiaddr, or a run of address characters (IPv4, IPv6, v4:port). It is
// deliberately loose; the captured text is then checked by addr.Parse, which
// is both stricter and much cheaper than an exact address regex. /dns and
// /unix multiaddrs are captured too, so that a line naming one is a NoHost
// (matched, nobody to blame) rather than a Miss.
const hostPattern = `(?P<host>\[[0-9A-Fa-f:.%]+\](?::\d{1,5})?|/(?:ip[46]|dns[46]?|dnsaddr|unix)/[^\s/]+(?:/[^\s/]+)*|[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*)`

// idPattern is what <ID> stands for: a token such as a peer ID.
const idPattern = `(?P<id>[^\s"',;]+)`

// ErrNoPlaceholder is returned for a failure pattern that names no host.
var ErrNoPlaceholder = errors.New("needs exactly one <HOST> or <ID>, or one of each (or a (?P<host>…) / (?P<id>…) group)")

var (
	errLearnGroups = errors.New("a learn pattern needs both <HOST> and <ID> (e.g. 'connected peer=<ID> addr=<HOST>')")
	errSelfGroups  = errors.New("a self pattern needs <ID> and no <HOST> (e.g. '^PeerID: <ID>$')")
)

// maxIDLen bounds an identity taken from a line: keys are kept in memory.
const maxIDLen = 256

type pattern struct {
	re *regexp.Regexp
	m  *rematch.Matcher // re, faster on ASCII lines
	// literal must occur in every line the pattern matches; checking for it
	// first makes lines that cannot match cost a substring search.
	literal []byte
	// also are the pattern's other required literals, looked for before
	// the regexp runs: sshd's "Received disconnect from " lines are many,
	// and only those with ": Auth fail" can match its pattern.
	also [][]byte
	// alsoAfter is where also's literals that every match holds after
	// literal begin: also[alsoAfter:] are looked for past the literal.
	alsoAfter int
	lits      [][]byte // all its required literals (requiredLiterals), in match order
	// gateAt is where the filter's gate lies in literal, -1 if it does
	// not: the fail patterns run on lines where the gate was found, and
	// the literal cannot start before the gate's first place less gateAt.
	gateAt int
	host   int // submatch index of <HOST>, or -1
	id     int // submatch index of <ID>, or -1
	prefix prefixRule
	first  *byteSet // bytes a match can start with (anchoredFirst); nil: any
}

// RegexFilter is a fail2ban-style filter compiled to Go regexps (RE2: linear
// time in the line's length, whatever the line).
type RegexFilter struct {
	name   string
	fail   []pattern
	ignore []pattern
	// learn patterns name an identity and its address on lines that are
	// no failure; self patterns the node's own identity.
	learn, self []pattern
	// gate is text every failing line contains (see commonLiteral): most
	// lines of a busy log are rejected by one substring search. Learn and
	// self patterns are looked for apart from it, by their own literals.
	gate []byte
}

// NewRegex compiles s. Errors are *PatternError.
func NewRegex(name string, s *RegexSpec) (*RegexFilter, error) {
	if len(s.Fail) == 0 {
		return nil, &PatternError{Field: "fail", Err: errors.New("no patterns (e.g. 'Failed password for .* from <HOST>')")}
	}
	f := &RegexFilter{name: name}
	var lits [][][]byte
	for i, src := range s.Fail {
		p, err := compileFail(src)
		if err != nil {
			return nil, &PatternError{Field: "fail", Index: i, Err: err}
		}
		f.fail = append(f.fail, p)
		lits = append(lits, p.lits)
	}
	f.gate = commonLiteral(lits)
	for i := range f.fail {
		f.fail[i].gateAt = -1
		if len(f.gate) > 0 {
			f.fail[i].gateAt = bytes.Index(f.fail[i].literal, f.gate)
		}
	}
	for i, src := range s.Learn {
		p, err := compileFail(src)
		if err == nil && (p.host < 0 || p.id < 0) {
			err = errLearnGroups
		}
		if err != nil {
			return nil, &PatternError{Field: "learn", Index: i, Err: err}
		}
		f.learn = append(f.learn, p)
	}
	for i, src := range s.Self {
		p, err := compileFail(src)
		if err == nil && (p.host >= 0 || p.id < 0) {
			err = errSelfGroups
		}
		if err != nil {
			return nil, &PatternError{Field: "self", Index: i, Err: err}
		}
		f.self = append(f.self, p)
	}
	for i, src := range s.Ignore {
		p, err := compileIgnore(src)
		if err != nil {
			return nil, &PatternError{Field: "ignore", Index: i, Err: err}
		}
		f.ignore = append(f.ignore, p)
	}
	sharePrograms(f.fail, f.ignore)
	return f, nil
}

func compileIgnore(src string) (pattern, error) {
	rule, body, err := splitPrefix(src)
	if err != nil {
		return pattern{}, err
	}
	re, err := regexp.Compile(expand(body))
	if err != nil {
		return pattern{}, cleanRegexpError(err, src)
	}
	p := pattern{re: re, m: rematch.New(re), host: -1, id: -1, prefix: rule}
	if simp := simplified(re.String()); simp != nil {
		p.literal, p.lits = longestIn(simp), literalsIn(simp, nil)
		p.also, p.first = otherLiterals(p.lits, p.literal), anchoredFirstOf(simp)
		p.alsoAfter = afterLiteral(p.lits, p.literal, p.also)
	}
	return p, nil
}

// expand replaces the placeholders; both spellings fail2ban users know work.
func expand(src string) string {
	r := strings.NewReplacer("<HOST>", hostPattern, "<ADDR>", hostPattern, "<ID>", idPattern)
	return r.Replace(src)
}

func compileFail(src string) (pattern, error) {
	p, err := compileIgnore(src)
	if err != nil {
		return pattern{}, err
	}
	hosts, ids := 0, 0
	for _, n := range p.re.SubexpNames() {
		switch n {
		case "host":
			hosts++
		case "id":
			ids++
		}
	}
	if hosts > 1 || ids > 1 || hosts+ids == 0 {
		return pattern{}, ErrNoPlaceholder
	}
	p.host, p.id = p.re.SubexpIndex("host"), p.re.SubexpIndex("id")
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
	var h Hit
	out := f.MatchInto(l, &h)
	return h, out
}

// MatchInto implements IntoMatcher: a line without the filter's gate
// costs one substring search and writes nothing.
func (f *RegexFilter) MatchInto(l *logline.Line, h *Hit) Outcome {
	return f.MatchScratch(l, h, nil)
}

// MatchScratch implements ScratchMatcher.
func (f *RegexFilter) MatchScratch(l *logline.Line, h *Hit, sc *Scratch) Outcome {
	gate := -1
	if len(f.gate) > 0 {
		if gate = bytes.Index(l.Text, f.gate); gate < 0 && f.learn == nil && f.self == nil {
			return Miss
		}
	}
	return f.matchAt(l.Text, gate, h, sc)
}

// matchAt reads a line that holds the gate at gate (-1: the filter has
// none), or lacks it (-1, a gate) and may still teach. sc may be nil.
func (f *RegexFilter) matchAt(text []byte, gate int, h *Hit, sc *Scratch) Outcome {
	var pl prefixedLine
	if gate < 0 && len(f.gate) > 0 {
		return f.teach(text, &pl, h, sc)
	}
	var room [8]int
	i, msg, m := find(f.fail, text, gate, &pl, &room, sc)
	if m == nil {
		if f.learn == nil && f.self == nil {
			return Miss
		}
		return f.teach(text, &pl, h, sc)
	}
	if f.ignored(text, &pl) {
		*h = Hit{}
		return Ignored
	}
	p := &f.fail[i]
	host, ok := p.blamed(msg, m)
	id := p.idOf(msg, m)
	if !ok {
		*h = Hit{Rule: i, ID: id}
		return NoHost
	}
	*h = Hit{Host: host, ID: id, Rule: i, Weight: 1, Prefix: pl.found()}
	return Match
}

// find returns the first of pats that matches text, the message it matched
// and its submatches; nil submatches when none does.
// The submatches are written into room (a host, an identity and the whole
// match fit), so that a match allocates nothing.
func find(pats []pattern, text []byte, gate int, pl *prefixedLine, room *[8]int, sc *Scratch) (int, []byte, []int) {
	for i := range pats {
		p := &pats[i]
		// A program's name is checked before the literal: in a shared
		// syslog file most lines are another program's.
		litEnd := -1 // where, in text, the literal's first occurrence ends
		if p.prefix.programs == nil && len(p.literal) > 0 {
			if litEnd = literalEnd(text, p, gate); litEnd < 0 {
				continue
			}
		}
		msg, ok := pl.message(text, &p.prefix)
		if !ok || (p.first != nil && (len(msg) == 0 || !p.first[msg[0]])) {
			continue
		}
		msgAt := len(text) - len(msg) // msg is text, or its end
		if p.prefix.programs != nil && len(p.literal) > 0 {
			at := bytes.Index(msg, p.literal)
			if at < 0 {
				continue
			}
			litEnd = msgAt + at + len(p.literal)
		}
		if !containsAll(msg, p.also[:p.alsoAfter]) {
			continue
		}
		// Those every match holds after its literal are after the
		// literal's first occurrence: " addr=" is not looked for among
		// the spaces before CANONICAL_PEER_STATUS.
		after := msg
		if litEnd >= 0 {
			after = msg[min(len(msg), max(0, litEnd-msgAt)):]
		}
		if !containsAll(after, p.also[p.alsoAfter:]) {
			continue
		}
		if m := p.m.AppendSubmatchIndexWith(sc.matcher(), room[:0], msg); m != nil {
			return i, msg, m
		}
	}
	return 0, nil, nil
}

// literalEnd returns where the first occurrence of p's literal in text
// ends, -1 if there is none. With the filter's gate at gate, the literal
// cannot start before gate less gateAt, and most often starts right there.
func literalEnd(text []byte, p *pattern, gate int) int {
	from := 0
	if gate >= 0 && p.gateAt >= 0 {
		if from = gate - p.gateAt; from >= 0 && bytes.HasPrefix(text[from:], p.literal) {
			return from + len(p.literal)
		}
		from = max(0, from)
	}
	at := bytes.Index(text[from:], p.literal)
	if at < 0 {
		return -1
	}
	return from + at + len(p.literal)
}

// teach reads a line that is no failure for what it says about identities:
// a peer's identity with its own address (never a relay's), or the node's
// own identity. It writes *h only when it returns Learned.
func (f *RegexFilter) teach(text []byte, pl *prefixedLine, h *Hit, sc *Scratch) Outcome {
	var room [8]int
	if i, msg, m := find(f.learn, text, -1, pl, &room, sc); m != nil {
		p := &f.learn[i]
		host, ok := p.blamed(msg, m)
		if id := p.idOf(msg, m); ok && host.Addr.IsValid() && id != "" {
			*h = Hit{Host: host, ID: id}
			return Learned
		}
		return Miss
	}
	if i, msg, m := find(f.self, text, -1, pl, &room, sc); m != nil {
		if id := f.self[i].idOf(msg, m); id != "" {
			*h = Hit{SelfID: id}
			return Learned
		}
	}
	return Miss
}

func (f *RegexFilter) ignored(text []byte, pl *prefixedLine) bool {
	for i := range f.ignore {
		p := &f.ignore[i]
		if len(p.literal) > 0 && !bytes.Contains(text, p.literal) {
			continue
		}
		msg, ok := pl.message(text, &p.prefix)
		if ok && (p.first == nil || (len(msg) > 0 && p.first[msg[0]])) && p.m.Match(msg) {
			return true
		}
	}
	return false
}

// blamed returns whom a match blames: the address of <HOST> or, when the
// address is a relay's (a libp2p circuit), the pattern's <ID>. A non-IP
// address (a /dns or /unix multiaddr, a host name) blames nobody.
func (p *pattern) blamed(text []byte, m []int) (Host, bool) {
	if tok, ok := group(text, m, p.host); ok {
		a, relayed, ok := parseHost(tok)
		if !relayed {
			return Host{Addr: a}, ok
		}
	}
	tok, ok := group(text, m, p.id)
	if !ok || len(tok) == 0 || len(tok) > maxIDLen {
		return Host{}, false
	}
	return Host{ID: string(tok)}, true
}

// idOf returns the identity the match names, "" when none fits a key.
func (p *pattern) idOf(text []byte, m []int) string {
	tok, ok := group(text, m, p.id)
	if !ok || len(tok) == 0 || len(tok) > maxIDLen {
		return ""
	}
	return alias(tok)
}

func group(text []byte, m []int, g int) ([]byte, bool) {
	if g < 0 || m[2*g] < 0 {
		return nil, false
	}
	return text[m[2*g]:m[2*g+1]], true
}
