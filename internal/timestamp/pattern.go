package timestamp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPattern is matched (errors.Is) by every error about a bad datepattern.
var ErrPattern = errors.New("bad datepattern")

// patternError says what is wrong with a datepattern and shows a right one.
type patternError struct{ msg string }

func (e *patternError) Error() string        { return e.msg }
func (e *patternError) Is(target error) bool { return target == ErrPattern }

const example = "%Y-%m-%d %H:%M:%S"

func badPattern(format string, args ...any) error {
	return &patternError{msg: fmt.Sprintf(format, args...) + " (e.g. " + example + ")"}
}

// maxPattern bounds a pattern's length; real ones are about 20 bytes.
const maxPattern = 256

// ValidatePattern checks an operator's datepattern. Valid are "" (automatic
// detection); the names iso8601 (or rfc3339), syslog, epoch (seconds, optional
// fraction) and epoch_ms; and strftime patterns with literal text between
// directives: %Y %y %m %d %e %H %M %S %f %z %b %B %a %A %j %%. A space
// matches one or more blanks. A pattern is looked for only where writers put
// their stamps (see Detector.Find), never inside a message; a leading "^" (or
// fail2ban's "{^LN-BEG}") pins it to the very start of the line.
func ValidatePattern(p string) error {
	if p == "" {
		return nil
	}
	_, _, err := compile(p)
	return err
}

// names are the datepattern names, for automatic detection restricted to one
// family of formats.
var names = map[string]spec{
	"iso8601":  {kinds: setOf(kindISO) | keyKinds, dates: true},
	"rfc3339":  {kinds: setOf(kindISO) | keyKinds, dates: true},
	"syslog":   {kinds: setOf(kindSyslog), dates: true},
	"epoch":    {kinds: setOf(kindEpoch, kindAudit) | keyKinds, epochs: epochS},
	"epoch_ms": {kinds: setOf(kindEpoch) | keyKinds, epochs: epochMS},
}

// compile turns a datepattern into a spec (for a name) or a pattern.
func compile(p string) (spec, *pattern, error) {
	anchored := false
	if rest, ok := strings.CutPrefix(p, "{^LN-BEG}"); ok {
		p, anchored = rest, true
	} else if rest, ok := strings.CutPrefix(p, "^"); ok {
		p, anchored = rest, true
	}
	if sp, ok := names[strings.ToLower(p)]; ok {
		sp.anchored = anchored
		return sp, nil, nil
	}
	if len(p) > maxPattern {
		return spec{}, nil, badPattern("pattern is %d bytes, longer than %d", len(p), maxPattern)
	}
	if !strings.Contains(p, "%") {
		return spec{}, nil, &patternError{msg: fmt.Sprintf(
			"unknown datepattern %q (e.g. iso8601, rfc3339, syslog, epoch, epoch_ms or %s)", p, example)}
	}
	pat, err := parsePattern(p)
	if err != nil {
		return spec{}, nil, err
	}
	pat.anchored = anchored
	return spec{}, pat, nil
}

// hints explain directives people try that are not supported.
var hints = map[byte]string{
	's': "for epoch seconds use the datepattern epoch",
	'Z': "for a zone use %z (Z, +02:00 or +0200)",
	'I': "12-hour clocks are not supported; use %H",
	'p': "12-hour clocks are not supported; use %H",
}

// parsePattern reads the items of a strftime pattern and checks that they
// make a date and time.
func parsePattern(p string) (*pattern, error) {
	pat := &pattern{}
	seen := map[byte]bool{}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == ' ' || c == '\t':
			for i+1 < len(p) && (p[i+1] == ' ' || p[i+1] == '\t') {
				i++
			}
			pat.items = append(pat.items, item{op: opSpace})
		case c != '%':
			pat.addLiteral(c)
		case i+1 == len(p):
			return nil, badPattern("pattern ends with a lone %%")
		default:
			i++
			d := p[i]
			if d == '%' {
				pat.addLiteral('%')
				continue
			}
			o, ok := directives[d]
			if !ok {
				if h, ok := hints[d]; ok {
					return nil, &patternError{msg: fmt.Sprintf("unknown directive %%%c: %s", d, h)}
				}
				return nil, badPattern("unknown directive %%%c", d)
			}
			if seen[canonical(d)] {
				return nil, badPattern("directive %%%c sets a field given before", d)
			}
			seen[canonical(d)] = true
			pat.items = append(pat.items, item{op: o})
		}
	}
	if err := checkFields(seen); err != nil {
		return nil, err
	}
	return pat, nil
}

// canonical maps directives that set the same field to one name.
func canonical(d byte) byte {
	switch d {
	case 'e':
		return 'd'
	case 'y':
		return 'Y'
	case 'B':
		return 'b'
	case 'A':
		return 'a'
	}
	return d
}

// checkFields demands a day, a month and an hour: a pattern without them
// cannot place a line in a findtime window.
func checkFields(seen map[byte]bool) error {
	switch {
	case seen['j'] && !seen['Y']:
		return badPattern("%%j needs a year: add %%Y")
	case seen['j'] && (seen['m'] || seen['b'] || seen['d']):
		return badPattern("%%j gives month and day: drop %%m, %%b and %%d")
	case seen['m'] && seen['b']:
		return badPattern("both %%m and %%b give the month: keep one")
	case !seen['j'] && !seen['m'] && !seen['b']:
		return badPattern("no month: add %%m or %%b")
	case !seen['j'] && !seen['d']:
		return badPattern("no day: add %%d")
	case !seen['H']:
		return badPattern("no hour: add %%H")
	case !seen['M']:
		return badPattern("no minute: add %%M")
	}
	return nil
}
