package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

var (
	wantDuration = want{"a duration", "10m, 1h30m, 1d"}

	errNotPositive = errors.New("not positive")
	errTooLong     = errors.New("too long")
)

// parseDuration reads a Go duration extended with days (d) and weeks (w):
// "30s", "1h30m", "1d", "2d12h", "1.5w". It accepts only positive values.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	var total time.Duration
	for rest := s; rest != ""; {
		num := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if num <= 0 {
			return 0, fmt.Errorf("no number")
		}
		unit := strings.IndexFunc(rest[num:], func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' })
		if unit < 0 {
			unit = len(rest) - num
		}
		part, err := durationPart(rest[:num], rest[num:num+unit])
		if err != nil {
			return 0, err
		}
		if part > math.MaxInt64-total {
			return 0, errTooLong
		}
		total += part
		rest = rest[num+unit:]
	}
	if total <= 0 {
		return 0, errNotPositive
	}
	return total, nil
}

// durationPart converts one "number unit" group.
func durationPart(num, unit string) (time.Duration, error) {
	var scale time.Duration
	switch unit {
	case "d":
		scale = day
	case "w":
		scale = week
	case "":
		return 0, fmt.Errorf("missing unit")
	default:
		return time.ParseDuration(num + unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	d := f * float64(scale)
	if d >= math.MaxInt64 {
		return 0, errTooLong
	}
	return time.Duration(d), nil
}

// formatDuration is parseDuration's inverse for display: 1w, 2d12h, 1h30m.
func formatDuration(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{week, "w"}, {day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return b.String()
}

func (s scope) duration(n *yaml.Node, key string) (time.Duration, bool) {
	n, ok := s.scalar(n, key, wantDuration)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(n.Value)
	switch {
	case err == nil:
		return d, true
	case errors.Is(err, errNotPositive):
		s.fail(n, key, "%q must be longer than zero (e.g. %s)", n.Value, wantDuration.eg)
	case strings.Trim(n.Value, "0123456789") == "":
		s.fail(n, key, "%q has no unit (e.g. %ss, 10m, 1d)", n.Value, n.Value)
	case errors.Is(err, errTooLong):
		s.fail(n, key, "%q is too long (at most about 290 years)", n.Value)
	default:
		s.fail(n, key, "%s", wantDuration.notA(n.Value))
	}
	return 0, false
}

var wantIP = want{"an address or CIDR", "10.0.0.0/8, 192.0.2.7, ::1"}

// prefix reads an address or CIDR. Host bits are cleared (127.0.0.1/8 means
// 127.0.0.0/8) and a single address becomes a /32 or /128.
func (s scope) prefix(n *yaml.Node, key string) (netip.Prefix, bool) {
	n, ok := s.scalar(n, key, wantIP)
	if !ok {
		return netip.Prefix{}, false
	}
	v := strings.TrimSpace(n.Value)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			s.fail(n, key, "%s", wantIP.notA(n.Value))
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		s.fail(n, key, "%s", wantIP.notA(n.Value))
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// PortRange is an inclusive range of ports; a single port has From == To.
type PortRange struct{ From, To uint16 }

func (r PortRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(int(r.From))
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

var wantPort = want{"a port or range", `4001, "30000-30100"`}

func (s scope) portRange(n *yaml.Node, key string) (PortRange, bool) {
	n, ok := s.scalar(n, key, wantPort)
	if !ok {
		return PortRange{}, false
	}
	lo, hi, isRange := strings.Cut(n.Value, "-")
	if !isRange {
		hi = lo
	}
	from, err1 := strconv.Atoi(strings.TrimSpace(lo))
	to, err2 := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case (err1 != nil && !isRangeErr(err1)) || (err2 != nil && !isRangeErr(err2)):
		s.fail(n, key, "%s", wantPort.notA(n.Value))
	case err1 != nil || err2 != nil || from < 1 || from > 65535 || to < 1 || to > 65535:
		s.fail(n, key, "%q is out of range 1..65535 (e.g. %s)", n.Value, wantPort.eg)
	case from > to:
		s.fail(n, key, "%q is a reversed range (e.g. \"%d-%d\")", n.Value, to, from)
	default:
		return PortRange{uint16(from), uint16(to)}, true
	}
	return PortRange{}, false
}

var (
	jailName      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,23}$`)
	filterName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	journalMatch  = regexp.MustCompile(`^[A-Z0-9_]{1,64}=.+$`)
	wantJournal   = want{"a journal match FIELD=value", "_SYSTEMD_UNIT=ipfs.service"}
	wantGlob      = want{"a file path or glob", "/var/log/ipfs/*.log"}
	wantJailName  = "lower-case letters, digits, _ and -, starting with a letter, at most 24; e.g. libp2p"
	wantFiltrName = "letters, digits, _, . and -, at most 64; e.g. my-filter"
)

// glob checks a file pattern and makes it absolute against dir, the config
// file's directory.
func (s scope) glob(n *yaml.Node, key, dir string) (string, bool) {
	n, ok := s.scalar(n, key, wantGlob)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		s.fail(n, key, "%s", wantGlob.notA(n.Value))
		return "", false
	}
	if _, err := filepath.Match(n.Value, ""); err != nil {
		s.fail(n, key, "%q is not a valid glob: %v (e.g. %s)", n.Value, err, wantGlob.eg)
		return "", false
	}
	if n.Value == "-" { // standard input, for pipes
		return "-", true
	}
	if filepath.IsAbs(n.Value) {
		return filepath.Clean(n.Value), true
	}
	return filepath.Join(dir, n.Value), true
}

func (s scope) journalMatch(n *yaml.Node, key string) (string, bool) {
	n, ok := s.scalar(n, key, wantJournal)
	if !ok {
		return "", false
	}
	if !journalMatch.MatchString(n.Value) || n.Value[0] >= '0' && n.Value[0] <= '9' {
		s.fail(n, key, "%s", wantJournal.notA(n.Value))
		return "", false
	}
	return n.Value, true
}

// oneOf reads a value from a fixed set of words.
func (s scope) oneOf(n *yaml.Node, key, what string, words []string) (string, bool) {
	w := want{what, strings.Join(words, " or ")}
	n, ok := s.scalar(n, key, w)
	if !ok {
		return "", false
	}
	if indexOf(words, n.Value) >= 0 {
		return n.Value, true
	}
	s.fail(n, key, "%q is not %s (%sone of %s)", n.Value, what, didYouMean(n.Value, words), quoteList(words))
	return "", false
}
