package addr

import (
	"net/netip"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means not an address
	}{
		{"203.0.113.7", "203.0.113.7"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"203.0.113.7:4001", "203.0.113.7"},
		{"203.0.113.7:65535", "203.0.113.7"},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:DB8::1", "2001:db8::1"},
		{"[2001:db8::1]:4001", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[fe80::1%eth0]:22", "fe80::1"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"[::ffff:203.0.113.7]:3569", "203.0.113.7"},
		{"/ip4/194.216.97.78/udp/51437/quic", "194.216.97.78"},
		{"/ip4/194.216.97.78", "194.216.97.78"},
		{"/ip4/1.2.3.4/tcp/4001/ws", "1.2.3.4"},
		{"/ip6/2a01:4f9:6663:8e2e:f66b:592d:ecf5:4980/udp/4001/quic-v1", "2a01:4f9:6663:8e2e:f66b:592d:ecf5:4980"},
		{"/ip6/2001:db8::7/udp/1/quic-v1/webtransport/certhash/uEiAbc/certhash/uEiDef", "2001:db8::7"},
		{"/ip6/::ffff:1.2.3.4/tcp/1", "1.2.3.4"},

		{"", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"01.2.3.4", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:65536", ""},
		{"1.2.3.4:80x", ""},
		{"1.2.3.4 ", ""},
		{"dead", ""},
		{"example.com", ""},
		{"[2001:db8::1]:", ""},
		{"[2001:db8::1]x", ""},
		{"[1.2.3.4]:80", ""},
		{"[2001:db8::1", ""},
		{"/ip4/2001:db8::1/tcp/1", ""},
		{"/ip6/1.2.3.4/tcp/1", ""},
		{"/ip6/fe80::1%eth0/tcp/1", ""},
		{"/dns4/example.com/tcp/4001", ""},
		{"/ip5/1.2.3.4", ""},
		{"/ip4/", ""},
		{"::1:2:3:4:5:6:7:8:9", ""},
	}
	for _, tt := range tests {
		got, ok := ParseString(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("Parse(%q) = %v, want not an address", tt.in, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestParseIPv4AgreesWithNetip(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "10.0.0.1", "100.64.0.0", "1.02.3.4", "1..3.4", ".1.2.3", "1.2.3.", "999.1.1.1", "1.2.3.4a"} {
		want, err := netip.ParseAddr(s)
		got, ok := parseIPv4([]byte(s))
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseIPv4(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := [][]byte{
		[]byte("203.0.113.7"),
		[]byte("/ip4/194.216.97.78/udp/51437/quic-v1"),
		[]byte("[2001:db8::1]:3569"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Parse(inputs[i%len(inputs)])
	}
}
