package jail

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Policy)
	}{
		{"maxretry 0", func(c *Policy) { c.MaxRetry = 0 }},
		{"findtime 0", func(c *Policy) { c.FindTime = 0 }},
		{"bantime negative", func(c *Policy) { c.BanTime = -time.Second }},
		{"ipv6 prefix 129", func(c *Policy) { c.IPv6Prefix = 129 }},
		{"ipv6 prefix negative", func(c *Policy) { c.IPv6Prefix = -1 }},
		{"maxhosts negative", func(c *Policy) { c.MaxHosts = -1 }},
		{"factor negative", func(c *Policy) { c.Increment.Factor = -1 }},
		{"factor NaN", func(c *Policy) { c.Increment.Factor = math.NaN() }},
		{"factor Inf", func(c *Policy) { c.Increment.Factor = math.Inf(1) }},
		{"maxtime negative", func(c *Policy) { c.Increment.MaxTime = -time.Hour }},
		{"invalid ignoreip", func(c *Policy) { c.IgnoreIP = []netip.Prefix{{}} }},
	}
	for _, tt := range tests {
		cfg := basic()
		tt.mod(&cfg)
		if j, err := NewCounter(cfg); !errors.Is(err, ErrPolicy) || j != nil {
			t.Errorf("%s: NewCounter = %v, %v; want ErrPolicy", tt.name, j, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := basic()
	cfg.IgnoreIP = mustPrefixes(t, "10.0.0.0/8")
	j := mustNew(t, cfg)
	cfg.IgnoreIP[0] = netip.MustParsePrefix("192.0.2.0/24") // the jail must not see this
	got := j.Policy()
	if got.IPv6Prefix != 64 || got.MaxHosts != 1_000_000 || got.IgnoreIP[0].String() != "10.0.0.0/8" || j.Name() != "test" {
		t.Errorf("Policy() = %+v", got)
	}
}
