package filter

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/logprefix"
)

// prefixToken starts a pattern that is matched against the program's
// message: "<PREFIX>" for any program, "<PREFIX:sshd|sshd-session>" for
// lines a relay tagged with one of those programs (or their units). Where
// the relay's prefix ends is logprefix's one rule, shared with timestamp
// detection, so every journalctl and syslog style is read the same way.
const prefixToken = "<PREFIX"

var (
	errPrefixPlace = errors.New("<PREFIX> must start the pattern (e.g. '^<PREFIX>Failed password for .* from <HOST>')")
	errPrefixNames = errors.New("<PREFIX:…> takes program names separated by | (e.g. <PREFIX:sshd|sshd-session>)")
)

// prefixRule is a pattern's <PREFIX> token.
type prefixRule struct {
	on       bool
	programs []string // nil: any program
}

// splitPrefix reads a leading <PREFIX> token off src and returns the rule
// and the regexp for the message: anchored at its start, since the token
// stands for everything before it.
func splitPrefix(src string) (prefixRule, string, error) {
	rest := strings.TrimPrefix(src, "^")
	if !strings.HasPrefix(rest, prefixToken) {
		if strings.Contains(src, prefixToken+">") || strings.Contains(src, prefixToken+":") {
			return prefixRule{}, "", errPrefixPlace
		}
		return prefixRule{}, src, nil
	}
	rule, n, err := parsePrefixToken(rest)
	if err != nil {
		return prefixRule{}, "", err
	}
	return rule, "^(?:" + rest[n:] + ")", nil
}

// parsePrefixToken reads "<PREFIX>" or "<PREFIX:a|b>" at the start of s and
// returns its length.
func parsePrefixToken(s string) (prefixRule, int, error) {
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return prefixRule{}, 0, errPrefixNames
	}
	tok := s[len(prefixToken):end]
	rule := prefixRule{on: true}
	if tok == "" {
		return rule, end + 1, nil
	}
	if tok[0] != ':' {
		return prefixRule{}, 0, errPrefixNames
	}
	for _, n := range strings.Split(tok[1:], "|") {
		if n == "" || strings.ContainsAny(n, " \t[]:<>") {
			return prefixRule{}, 0, errPrefixNames
		}
		rule.programs = append(rule.programs, n)
	}
	return rule, end + 1, nil
}

// prefixedLine parses a line's relay prefix once, for all the patterns
// that ask for it.
type prefixedLine struct {
	done, has bool
	p         logprefix.Prefix
	// tagFor is the program list last checked against the line's tag (its
	// first element's address) and tagOK the answer: a filter's patterns
	// share one list (sharePrograms), so a line's tag is checked once.
	tagFor *string
	tagOK  bool
}

// message returns the text a pattern with rule r is matched against, and
// false when the relay tagged the line with another program. A line without
// a relay prefix (a journald MESSAGE, a program's own file) is all message.
func (pl *prefixedLine) message(text []byte, r *prefixRule) ([]byte, bool) {
	if !r.on {
		return text, true
	}
	if !pl.done {
		pl.has = logprefix.ParseInto(text, &pl.p)
		pl.done = true
	}
	if !pl.has {
		return text, true
	}
	if r.programs != nil {
		if pl.tagFor != &r.programs[0] {
			pl.tagFor, pl.tagOK = &r.programs[0], logprefix.TagIs(pl.p.TagOf(text), r.programs)
		}
		if !pl.tagOK {
			return nil, false
		}
	}
	return text[pl.p.Message:], true
}

// sharePrograms makes the patterns that name the same programs hold one
// list, which prefixedLine checks a line's tag against once.
func sharePrograms(sets ...[]pattern) {
	seen := make(map[string][]string)
	for _, ps := range sets {
		for i := range ps {
			r := &ps[i].prefix
			if r.programs == nil {
				continue
			}
			k := strings.Join(r.programs, "|")
			if have, ok := seen[k]; ok {
				r.programs = have
			} else {
				seen[k] = r.programs
			}
		}
	}
}

// found is what Hit.Prefix reports of the line's prefix.
func (pl *prefixedLine) found() int {
	switch {
	case !pl.done:
		return 0
	case !pl.has:
		return -1
	}
	return pl.p.Message + 1
}

// circuit marks a libp2p relayed address: /ip4/R/tcp/4001/p2p/RELAY/p2p-circuit.
// Its IP is the relay's, which serves many peers and must not be blamed for one.
var circuit = []byte("/p2p-circuit")

// circuitDash is where circuit's one '-' lies.
const circuitDash = len("/p2p")

// hasCircuit is bytes.Contains(tok, circuit), found by circuit's '-':
// a multiaddr has a '/' before each part, which bytes.Contains's first
// byte search stopped at every time (a fifth of parseHost's cost on a
// libp2p replay), and few dashes (quic-v1, webrtc-direct).
func hasCircuit(tok []byte) bool {
	for i := circuitDash; i < len(tok); i++ {
		j := bytes.IndexByte(tok[i:], '-')
		if j < 0 {
			return false
		}
		i += j
		if bytes.HasPrefix(tok[i-circuitDash:], circuit) {
			return true
		}
	}
	return false
}

// parseHost reads an address as addr.Parse does and reports a relayed one.
func parseHost(tok []byte) (a netip.Addr, relayed, ok bool) {
	if len(tok) > 0 && tok[0] == '/' && hasCircuit(tok) {
		return netip.Addr{}, true, false
	}
	a, ok = addr.Parse(tok)
	return a, false, ok
}
