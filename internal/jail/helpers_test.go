package jail

import (
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// ts is t0 plus d: tests state every time explicitly.
func ts(d time.Duration) time.Time { return t0.Add(d) }

// hostOf reads an address, or else takes s as an identity.
func hostOf(s string) filter.Host {
	if a, err := netip.ParseAddr(s); err == nil {
		return filter.Host{Addr: a}
	}
	return filter.Host{ID: s}
}

func hit(s string, weight int) filter.Hit { return filter.Hit{Host: hostOf(s), Weight: weight} }

func mustNew(t testing.TB, cfg Policy) *Counter {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	j, err := NewCounter(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return j
}

func mustKey(t testing.TB, s string, bits int) Key {
	t.Helper()
	k, err := ParseKey(s, bits)
	if err != nil {
		t.Fatalf("ParseKey(%q): %v", s, err)
	}
	return k
}

// basic is a policy most tests start from: 3 hits in 10 s ban for 1 h.
func basic() Policy {
	return Policy{Name: "test", FindTime: 10 * time.Second, MaxRetry: 3, BanTime: time.Hour}
}
