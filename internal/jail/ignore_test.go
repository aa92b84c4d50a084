package jail

import (
	"fmt"
	"net/netip"
	"testing"
)

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestIgnoreIP(t *testing.T) {
	cfg := basic()
	cfg.MaxRetry = 1
	cfg.IgnoreIP = mustPrefixes(t,
		"10.0.0.0/8", "192.0.2.7/32", "127.0.0.1/32",
		"2001:db8:ffff::/48", "::1/128", "::ffff:198.51.100.0/120", "2001:db8:1:2::9/128")
	tests := []struct {
		host    string
		ignored bool
	}{
		{"10.200.3.4", true},
		{"11.0.0.1", false},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"127.0.0.1", true},
		{"::ffff:10.1.2.3", true},
		{"198.51.100.200", true}, // from the mapped /120, i.e. 198.51.100.0/24
		{"198.51.101.1", false},
		{"2001:db8:ffff:1::1", true},
		{"2001:db8:fffe::1", false},
		{"::1", true},
		{"::2", false},
		{"2001:db8:1:2::9", true}, // the ignored address itself, though keys are /64
		{"2001:db8:1:2::a", false},
		{"fe80::1%eth0", false},
		{"10.0.0.1", true}, // IDs and addresses do not mix:
		{"10.0.0.1-peer", false},
	}
	j := mustNew(t, cfg)
	for _, tt := range tests {
		_, v := j.Add(hit(tt.host, 1), t0, nil)
		if got := v == IgnoredHost; got != tt.ignored {
			t.Errorf("%s: verdict %v, want ignored %v", tt.host, v, tt.ignored)
		}
	}
}

func TestIgnoreSetMany(t *testing.T) {
	var ps []netip.Prefix
	for i := range 300 {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24))
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, byte(i), 1}), 32))
		ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", i)))
	}
	s := newIgnoreSet(64, ps, nil)
	if len(s.lens4) != 2 || len(s.lens6) != 1 {
		t.Errorf("lengths %v %v, want two IPv4 and one IPv6", s.lens4, s.lens6)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"100.0.255.9", true}, {"100.1.43.1", true}, {"100.1.44.1", false},
		{"203.0.200.1", true}, {"203.0.200.2", false},
		{"2001:db8:12b:ffff::1", true}, {"2001:db8:12c::1", false},
	}
	for _, tt := range tests {
		if got := s.contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
