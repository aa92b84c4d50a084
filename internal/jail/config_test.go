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
		mod  func(*Config)
	}{
		{"maxretry 0", func(c *Config) { c.MaxRetry = 0 }},
		{"findtime 0", func(c *Config) { c.FindTime = 0 }},
		{"bantime negative", func(c *Config) { c.BanTime = -time.Second }},
		{"ipv6 prefix 129", func(c *Config) { c.IPv6Prefix = 129 }},
		{"ipv6 prefix negative", func(c *Config) { c.IPv6Prefix = -1 }},
		{"maxhosts negative", func(c *Config) { c.MaxHosts = -1 }},
		{"factor negative", func(c *Config) { c.Increment.Factor = -1 }},
		{"factor NaN", func(c *Config) { c.Increment.Factor = math.NaN() }},
		{"factor Inf", func(c *Config) { c.Increment.Factor = math.Inf(1) }},
		{"maxtime negative", func(c *Config) { c.Increment.MaxTime = -time.Hour }},
		{"invalid ignoreip", func(c *Config) { c.IgnoreIP = []netip.Prefix{{}} }},
	}
	for _, tt := range tests {
		cfg := basic()
		tt.mod(&cfg)
		if j, err := New(cfg); !errors.Is(err, ErrConfig) || j != nil {
			t.Errorf("%s: New = %v, %v; want ErrConfig", tt.name, j, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := basic()
	cfg.IgnoreIP = mustPrefixes(t, "10.0.0.0/8")
	j := mustNew(t, cfg)
	cfg.IgnoreIP[0] = netip.MustParsePrefix("192.0.2.0/24") // the jail must not see this
	got := j.Config()
	if got.IPv6Prefix != 64 || got.MaxHosts != 1_000_000 || got.IgnoreIP[0].String() != "10.0.0.0/8" || j.Name() != "test" {
		t.Errorf("Config() = %+v", got)
	}
}
