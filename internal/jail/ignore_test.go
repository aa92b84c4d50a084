package jail

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
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
		{"fe80::1%eth0", true}, // link-local, ignored by default
		{"10.0.0.1", true},     // IDs and addresses do not mix:
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

// Special addresses are never counted, whatever ignoreip says, in every form a
// log may write them.
func TestSpecialAddressesIgnored(t *testing.T) {
	tests := []struct {
		host    string
		ignored bool
	}{
		{"0.0.0.0", true}, {"0.1.2.3", true}, {"127.0.0.1", true}, {"127.255.0.9", true},
		{"169.254.10.1", true}, {"224.0.0.1", true}, {"239.255.255.250", true},
		{"255.255.255.255", true}, {"::", true}, {"::1", true}, {"fe80::1", true},
		{"febf::1", true}, {"ff02::1", true}, {"::ffff:127.0.0.1", true}, {"::ffff:0.0.0.0", true},
		{"::ffff:255.255.255.255", true}, {"::ffff:169.254.1.1", true},
		// Their neighbours are counted.
		{"1.0.0.1", false}, {"126.255.255.255", false}, {"128.0.0.1", false}, {"169.253.255.255", false}, {"169.255.0.1", false}, {"223.255.255.255", false},
		{"240.0.0.1", false}, {"255.255.255.254", false}, {"::2", false}, {"fec0::1", false},
		{"fe00::1", false}, {"2001:db8::1", false},
	}
	for _, cfg := range []Policy{basic(), {Name: "empty-ignoreip", FindTime: time.Second, MaxRetry: 1, BanTime: time.Hour, IgnoreIP: []netip.Prefix{}}} {
		j := mustNew(t, cfg)
		for _, tt := range tests {
			_, v := j.Add(hit(tt.host, 1), t0, nil)
			if got := v == IgnoredHost; got != tt.ignored {
				t.Errorf("%s: %s: verdict %v, want ignored %v", cfg.Name, tt.host, v, tt.ignored)
			}
			if !tt.ignored {
				j.UnbanAll(t0)
			}
		}
	}
}

func TestIgnoresSpecial(t *testing.T) {
	j := mustNew(t, basic())
	tests := []struct {
		key, reason string
	}{
		{"127.0.0.1", "special address (loopback) 127.0.0.0/8"},
		{"0.0.0.0/0", "special address (unspecified) 0.0.0.0/8"},
		{"::/0", "special address (unspecified) ::/128"},
		{"::2", ""},
		{"::/64", "special address (unspecified) ::/128"}, // holds :: and ::1
		{"::ffff:127.0.0.1", "special address (loopback) 127.0.0.0/8"},
		{"fe80::1", "special address (link-local) fe80::/10"},
		{"ff02::1", "special address (multicast) ff00::/8"},
		{"255.255.255.255", "special address (broadcast) 255.255.255.255/32"},
		{"203.0.113.7", ""},
	}
	for _, tt := range tests {
		k := mustKey(t, tt.key, 128)
		reason, ok := j.Ignores(k)
		if reason != tt.reason || ok != (tt.reason != "") {
			t.Errorf("Ignores(%s) = %q, %v; want %q", tt.key, reason, ok, tt.reason)
		}
	}
}

// isSpecial is a fast form of specialAddrs: they must agree at every edge.
func TestIsSpecialMatchesList(t *testing.T) {
	inList := func(a netip.Addr) bool {
		for _, e := range specialAddrs {
			if e.prefix.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, e := range specialAddrs {
		first := e.prefix.Masked().Addr()
		b := first.AsSlice()
		for i := e.prefix.Bits(); i < first.BitLen(); i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		last, _ := netip.AddrFromSlice(b)
		for _, a := range []netip.Addr{first, last, first.Prev(), last.Next()} {
			if a.IsValid() && isSpecial(a) != inList(a) {
				t.Errorf("%s (edge of %s): isSpecial %v, list %v", a, e.prefix, isSpecial(a), inList(a))
			}
		}
	}
}
