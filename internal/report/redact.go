package report

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/peerjail/peerjail/internal/addr"
)

// Redactor removes private data from evidence lines before they are
// shared: this host's own addresses and name, and the user names sshd
// writes (an attacker's guesses, but also the host's real accounts).
type Redactor struct {
	self     map[netip.Addr]bool
	hostname *regexp.Regexp
}

// NewRedactor redacts the addresses self and the host name hostname
// ("" for none).
func NewRedactor(self []netip.Addr, hostname string) *Redactor {
	r := &Redactor{self: map[netip.Addr]bool{}}
	for _, a := range self {
		r.self[a.Unmap().WithZone("")] = true
	}
	if hostname != "" {
		r.hostname = regexp.MustCompile(`\b` + regexp.QuoteMeta(hostname) + `\b`)
	}
	return r
}

// Placeholders that stand for what was redacted.
const (
	SelfMark     = "<self>"
	HostnameMark = "<hostname>"
	UserMark     = "<user>"
)

// userNames are sshd's lines that carry a user name, with the name in the
// second group. A name may hold spaces, so it runs to the last " from ".
var userNames = []*regexp.Regexp{
	regexp.MustCompile(`(Failed \S+ for (?:invalid user )?)(.*)( from )`),
	regexp.MustCompile(`(Accepted \S+ for )(.*)( from )`),
	regexp.MustCompile(`([Ii]nvalid user )(.*)( from )`),
	regexp.MustCompile(`((?:invalid|authenticating) user )(\S+)( \S+ port )`),
}

// Line returns line with the private data replaced by placeholders.
func (r *Redactor) Line(line string) string {
	for _, re := range userNames {
		line = re.ReplaceAllString(line, "${1}"+UserMark+"${3}")
	}
	line = r.addrs(line)
	if r.hostname != nil {
		line = r.hostname.ReplaceAllLiteralString(line, HostnameMark)
	}
	return line
}

// addrs replaces each run of address characters that reads as one of this
// host's addresses (with or without a port, IPv4-mapped or not).
func (r *Redactor) addrs(line string) string {
	if len(r.self) == 0 {
		return line
	}
	var b strings.Builder
	for i := 0; i < len(line); {
		j := i
		for j < len(line) && isAddrByte(line[j]) {
			j++
		}
		if j == i {
			b.WriteByte(line[i])
			i++
			continue
		}
		run := line[i:j]
		if a, ok := addr.ParseString(strings.TrimRight(run, ".:")); ok && r.self[a.Unmap().WithZone("")] {
			b.WriteString(SelfMark)
			b.WriteString(run[len(strings.TrimRight(run, ".:")):])
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}

func isAddrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':' || c == '[' || c == ']'
}
