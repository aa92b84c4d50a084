package firewall

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// maxJailName keeps "<jail>_v4" within the 31 characters that older
// kernels allow for a set name.
const maxJailName = 28

// CheckJails checks the jails Setup is given.
func CheckJails(jails []Jail) error {
	seen := make(map[string]bool, len(jails))
	for _, j := range jails {
		if err := validJail(j); err != nil {
			return err
		}
		if seen[j.Name] {
			return fmt.Errorf("%w: %q appears twice", ErrInvalidJail, j.Name)
		}
		seen[j.Name] = true
	}
	return nil
}

func validJail(j Jail) error {
	if !validName(j.Name) {
		return fmt.Errorf("%w: name %q: want a letter, then letters, digits, _ or -, at most %d", ErrInvalidJail, j.Name, maxJailName)
	}
	switch j.Protocol {
	case "", "all", "tcp", "udp":
	default:
		return fmt.Errorf("%w: %q: protocol %q: want tcp, udp or all", ErrInvalidJail, j.Name, j.Protocol)
	}
	if j.IPv6Prefix < 0 || j.IPv6Prefix > 128 {
		return fmt.Errorf("%w: %q: ipv6 prefix /%d is outside 1-128", ErrInvalidJail, j.Name, j.IPv6Prefix)
	}
	for _, r := range j.Ports {
		if r.From > r.To {
			return fmt.Errorf("%w: %q: port range %d-%d is empty", ErrInvalidJail, j.Name, r.From, r.To)
		}
	}
	return nil
}

// validName accepts names that are also valid nft identifiers, so that
// `nft list set inet peerjail <jail>_v4` works for the operator.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxJailName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// normalize checks a change and returns it with its prefix masked, IPv4
// addresses mapped into IPv6 turned back into IPv4 (packets from IPv4 peers
// never match an IPv6 set) and the timeout rounded up to milliseconds.
func normalize(c Change) (Change, error) {
	if !validName(c.Jail) {
		return c, fmt.Errorf("%w: jail name %q", ErrInvalidChange, c.Jail)
	}
	p := c.Prefix
	if !p.IsValid() {
		return c, fmt.Errorf("%w: jail %q: invalid prefix %s", ErrInvalidChange, c.Jail, p)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return c, fmt.Errorf("%w: jail %q: prefix %s would match every address", ErrInvalidChange, c.Jail, p)
	}
	c.Prefix = p.Masked()
	if !c.Add {
		c.Timeout = 0
		return c, nil
	}
	if c.Timeout <= 0 {
		return c, fmt.Errorf("%w: jail %q: ban of %s needs a timeout > 0, got %s", ErrInvalidChange, c.Jail, c.Prefix, c.Timeout)
	}
	if r := c.Timeout % time.Millisecond; r != 0 {
		if c.Timeout > math.MaxInt64-time.Millisecond {
			c.Timeout -= r // rounding up would overflow; the ban is 292 years anyway
		} else {
			c.Timeout += time.Millisecond - r
		}
	}
	return c, nil
}

// Normalize checks every change before anything is touched, so that a
// bad change fails the whole call.
func Normalize(changes []Change) ([]Change, error) {
	out := make([]Change, len(changes))
	for i, c := range changes {
		n, err := normalize(c)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}
