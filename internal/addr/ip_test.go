package addr

import (
	"net/netip"
	"testing"
)

// netipIPv6 is what parseIPv6 replaces.
func netipIPv6(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(string(b))
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// ipv6Cases are valid and invalid IPv6 texts at each of the parser's turns.
var ipv6Cases = []string{
	"::", "::1", "1::", "2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8",
	"2600:3c00:e16:59ca:f7cf:5e9d:7a90:44d1", "2409:8a1e:f38d:e1d2::bd", "::ffff:203.0.113.7",
	"::203.0.113.7", "1:2:3:4:5:6:1.2.3.4", "1::2:3:4:5:6:7", "fe80::1%eth0", "fe80::1%", "%eth0",
	"", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
	"1:2:3:4:5:6:7", "12345::1", "g::1", "1:", ":1", "1.2.3.4", "1.2::3", "::1.2.3", "::1.2.3.4.5",
	"::01.2.3.4", "::1.2.3.256", "::1..2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.",
	"0000:0000:0000:0000:0000:0000:0000:0000", "00000::1", "::x", "1::2 ", " ::1", "ffff::ffff:ffff",
}

func TestParseIPv6(t *testing.T) {
	for _, s := range ipv6Cases {
		got, gotOK := parseIPv6([]byte(s))
		want, wantOK := netipIPv6([]byte(s))
		if got != want || gotOK != wantOK {
			t.Errorf("parseIPv6(%q) = %v, %v; netip says %v, %v", s, got, gotOK, want, wantOK)
		}
	}
}

func TestParseIPv6Allocs(t *testing.T) {
	b := []byte("2600:3c00:e16:59ca:f7cf:5e9d:7a90:44d1")
	if n := testing.AllocsPerRun(100, func() { parseIPv6(b) }); n != 0 {
		t.Errorf("parseIPv6 allocates %v times per address, want 0", n)
	}
}

// FuzzParseIPv6 checks that parseIPv6 agrees with netip.ParseAddr on every
// input: the same address, zone and answer.
func FuzzParseIPv6(f *testing.F) {
	for _, s := range ipv6Cases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotOK := parseIPv6(b)
		want, wantOK := netipIPv6(b)
		if got != want || gotOK != wantOK {
			t.Fatalf("parseIPv6(%q) = %v, %v; netip says %v, %v", b, got, gotOK, want, wantOK)
		}
	})
}

// BenchmarkParseIPv6 compares parseIPv6 with the netip.ParseAddr it
// replaces, on a libp2p node's addresses.
func BenchmarkParseIPv6(b *testing.B) {
	addrs := [][]byte{
		[]byte("2600:3c00:e16:59ca:f7cf:5e9d:7a90:44d1"), []byte("2409:8a1e:f38d:e1d2::bd"),
		[]byte("2a01:4f9:6663:8e2e:f66b:592d:ecf5:4980"), []byte("2001:db8::7"),
	}
	for _, bb := range []struct {
		name  string
		parse func([]byte) (netip.Addr, bool)
	}{{"own", parseIPv6}, {"netip", netipIPv6}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := bb.parse(addrs[i%len(addrs)]); !ok {
					b.Fatal("not an address")
				}
			}
		})
	}
}

// netipIPv4 is the reading parseIPv4 must keep: netip's.
func netipIPv4(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(string(b))
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

var ipv4Cases = []string{
	"0.0.0.0", "1.2.3.4", "255.255.255.255", "222.244.49.102", "10.0.0.1", "100.10.1.0",
	"", ".", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.02.3.4", "1.2.3.00", "1.2.3.0x",
	"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1234.1.1.1", "1.2.3.4:80", "::1.2.3.4", "1.2.3.-4", "a.b.c.d",
}

func TestParseIPv4(t *testing.T) {
	for _, s := range ipv4Cases {
		got, gotOK := parseIPv4([]byte(s))
		want, wantOK := netipIPv4([]byte(s))
		if got != want || gotOK != wantOK {
			t.Errorf("parseIPv4(%q) = %v, %v; netip says %v, %v", s, got, gotOK, want, wantOK)
		}
	}
}

// FuzzParseIPv4 checks that parseIPv4 agrees with netip.ParseAddr on every
// input.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range ipv4Cases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotOK := parseIPv4(b)
		want, wantOK := netipIPv4(b)
		if got != want || gotOK != wantOK {
			t.Fatalf("parseIPv4(%q) = %v, %v; netip says %v, %v", b, got, gotOK, want, wantOK)
		}
	})
}

// BenchmarkParseIPv4 compares parseIPv4 with netip.ParseAddr on a libp2p
// node's addresses.
func BenchmarkParseIPv4(b *testing.B) {
	addrs := [][]byte{[]byte("222.244.49.102"), []byte("135.201.21.93"), []byte("188.154.128.117"), []byte("1.2.3.4")}
	for _, bb := range []struct {
		name  string
		parse func([]byte) (netip.Addr, bool)
	}{{"own", parseIPv4}, {"netip", netipIPv4}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := bb.parse(addrs[i%len(addrs)]); !ok {
					b.Fatal("not an address")
				}
			}
		})
	}
}

// BenchmarkParseMultiaddr is Parse on the multiaddrs of the libp2p corpus's
// CANONICAL_PEER_STATUS lines: four in five /ip4.
func BenchmarkParseMultiaddr(b *testing.B) {
	addrs := [][]byte{
		[]byte("/ip4/222.244.49.102/tcp/30303"), []byte("/ip4/135.201.21.93/tcp/4001"),
		[]byte("/ip4/188.154.128.117/udp/4001/quic-v1"), []byte("/ip4/194.216.97.78/tcp/4001/ws"),
		[]byte("/ip6/2600:3c00:e16:59ca:f7cf:5e9d:7a90:44d1/udp/4001/quic-v1/webtransport/certhash/uEievvhT2mcd4cBjJ8H2kFELuD7iU_jziR5xRVgRG2J1vW"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := Parse(addrs[i%len(addrs)]); !ok {
			b.Fatal("not an address")
		}
	}
}
