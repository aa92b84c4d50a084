package jail

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Policy is a jail's counting and banning policy, already validated.
type Policy struct {
	Name     string
	FindTime time.Duration
	MaxRetry int
	BanTime  time.Duration
	// Increment grows the ban of repeat offenders: BanTime × Factor^(bans so far),
	// at most MaxTime. Factor 0 or 1 means no growth.
	Increment Increment
	// IgnoreIP lists prefixes that are never banned (single addresses as /32, /128).
	IgnoreIP []netip.Prefix
	// IPv6Prefix is the prefix length IPv6 hosts are counted and banned by (1–128).
	IPv6Prefix int
	// MaxHosts caps the hosts with pending hits; the least recently seen is
	// evicted first.
	MaxHosts int
	// Escalation widens IPv6 bans from IPv6Prefix to its steps.
	Escalation Escalation
	// Key is what hits count by: KeyHost (the default) or KeyID.
	Key KeyKind
}

// Increment is the repeat-offender policy.
type Increment struct {
	Factor  float64
	MaxTime time.Duration
}

// Defaults applied by NewCounter for zero fields.
const (
	DefaultIPv6Prefix = 64
	DefaultMaxHosts   = 1_000_000
)

// ErrPolicy marks a policy NewCounter refuses.
var ErrPolicy = errors.New("invalid jail config")

// normalize returns c with defaults filled in and its slices copied, so that a
// caller changing its Policy afterwards cannot change a running jail.
func (c Policy) normalize() (Policy, error) {
	if c.IPv6Prefix == 0 {
		c.IPv6Prefix = DefaultIPv6Prefix
	}
	if c.MaxHosts == 0 {
		c.MaxHosts = DefaultMaxHosts
	}
	if err := c.validate(); err != nil {
		return Policy{}, fmt.Errorf("jail %q: %w", c.Name, err)
	}
	c.IgnoreIP = append([]netip.Prefix(nil), c.IgnoreIP...)
	c.Escalation.Steps = append([]int(nil), c.Escalation.Steps...)
	return c, nil
}

func (c Policy) validate() error {
	f := c.Increment.Factor
	switch {
	case c.MaxRetry < 1:
		return fmt.Errorf("maxretry %d is below 1: %w", c.MaxRetry, ErrPolicy)
	case c.FindTime <= 0:
		return fmt.Errorf("findtime %v is not positive: %w", c.FindTime, ErrPolicy)
	case c.BanTime <= 0:
		return fmt.Errorf("bantime %v is not positive: %w", c.BanTime, ErrPolicy)
	case c.IPv6Prefix < 1 || c.IPv6Prefix > 128:
		return fmt.Errorf("ipv6 prefix /%d is outside 1–128: %w", c.IPv6Prefix, ErrPolicy)
	case c.Key > KeyID:
		return fmt.Errorf("key %d is neither host nor id: %w", c.Key, ErrPolicy)
	case c.MaxHosts < 0:
		return fmt.Errorf("maxhosts %d is negative: %w", c.MaxHosts, ErrPolicy)
	case !(f >= 0) || math.IsInf(f, 1):
		return fmt.Errorf("increment factor %v is not a finite number >= 0: %w", f, ErrPolicy)
	case c.Increment.MaxTime < 0:
		return fmt.Errorf("increment maxtime %v is negative: %w", c.Increment.MaxTime, ErrPolicy)
	}
	for _, p := range c.IgnoreIP {
		if !p.IsValid() {
			return fmt.Errorf("ignoreip %v is not a valid prefix: %w", p, ErrPolicy)
		}
	}
	return c.Escalation.validate(c.IPv6Prefix)
}
