package jail

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want string
		id   bool
	}{
		{in: "203.0.113.7", want: "203.0.113.7"},
		{in: " 203.0.113.7\n", want: "203.0.113.7"},
		{in: "::ffff:203.0.113.7", want: "203.0.113.7"},
		{in: "2001:db8:1:2::7", want: "2001:db8:1:2::/64"},
		{in: "2001:db8:1:2::7", bits: 128, want: "2001:db8:1:2::7"},
		{in: "2001:db8:1:2::7", bits: 48, want: "2001:db8:1::/48"},
		{in: "fe80::1%eth0", bits: 128, want: "fe80::1"},
		{in: "198.51.100.0/24", want: "198.51.100.0/24"},
		{in: "198.51.100.77/24", want: "198.51.100.0/24"},
		{in: "198.51.100.77/32", want: "198.51.100.77"},
		{in: "::ffff:198.51.100.0/120", want: "198.51.100.0/24"},
		{in: "2001:db8::/32", want: "2001:db8::/32"},
		{in: "2001:db8::1/128", want: "2001:db8::1"},
		{in: "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", want: "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", id: true},
		{in: "deadbeef", want: "deadbeef", id: true},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in, tt.bits)
		if err != nil {
			t.Errorf("ParseKey(%q, %d): %v", tt.in, tt.bits, err)
			continue
		}
		if k.String() != tt.want || (k.ID != "") != tt.id {
			t.Errorf("ParseKey(%q, %d) = %+v (%s), want %s", tt.in, tt.bits, k, k, tt.want)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	tests := []struct {
		in   string
		bits int
	}{
		{"", 0}, {"   ", 0}, {"1.2.3", 0}, {"203.0.113.256", 0}, {"2001:db8:::1", 0},
		{"10.0.0.0/33", 0}, {"peer id", 0}, {"peer\x00id", 0}, {"203.0.113.7", 129}, {"203.0.113.7", -1},
	}
	for _, tt := range tests {
		if k, err := ParseKey(tt.in, tt.bits); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q, %d) = %+v, %v; want ErrBadKey", tt.in, tt.bits, k, err)
		}
	}
}

func TestKeyFor(t *testing.T) {
	tests := []struct {
		host filter.Host
		bits int
		want string
		ok   bool
	}{
		{host: hostOf("203.0.113.7"), want: "203.0.113.7", ok: true},
		{host: hostOf("::ffff:203.0.113.7"), want: "203.0.113.7", ok: true},
		{host: hostOf("2001:db8:1:2:3:4:5:6"), want: "2001:db8:1:2::/64", ok: true},
		{host: hostOf("2001:db8:1:2:3:4:5:6"), bits: 128, want: "2001:db8:1:2:3:4:5:6", ok: true},
		{host: hostOf("2001:db8:1:2:3:4:5:6"), bits: 56, want: "2001:db8:1::/56", ok: true},
		{host: hostOf("fe80::1%eth0"), bits: 128, want: "fe80::1", ok: true},
		{host: hostOf("peer-1"), want: "peer-1", ok: true},
		{host: filter.Host{}, ok: false},
	}
	for _, tt := range tests {
		cfg := basic()
		cfg.IPv6Prefix = tt.bits
		k, ok := mustNew(t, cfg).KeyFor(tt.host)
		if ok != tt.ok || k.String() != tt.want {
			t.Errorf("KeyFor(%v) /%d = %q %v, want %q %v", tt.host, tt.bits, k, ok, tt.want, tt.ok)
		}
		if ok {
			// The CLI must name the same key a hit counts towards.
			if p, err := ParseKey(tt.host.String(), tt.bits); err != nil || p != k {
				t.Errorf("ParseKey(%q) = %+v %v, KeyFor gave %+v", tt.host, p, err, k)
			}
		}
	}
}

func TestKeyString(t *testing.T) {
	tests := []struct {
		k    Key
		want string
	}{
		{Key{Prefix: netip.MustParsePrefix("203.0.113.7/32")}, "203.0.113.7"},
		{Key{Prefix: netip.MustParsePrefix("2001:db8::7/128")}, "2001:db8::7"},
		{Key{Prefix: netip.MustParsePrefix("2001:db8:1:2::/64")}, "2001:db8:1:2::/64"},
		{Key{Prefix: netip.MustParsePrefix("10.0.0.0/8")}, "10.0.0.0/8"},
		{Key{ID: "peer"}, "peer"},
		{Key{}, ""},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.k, got, tt.want)
		}
	}
}

// FuzzParseKey checks that any text either fails with ErrBadKey or yields a
// valid key that reads back from its own String: the store and the CLI rely on
// that round trip.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "2001:db8::1", "2001:db8::/48", "::ffff:1.2.3.4/120", "fe80::1%eth0", "peer-1", "1.2.3", ""} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, bits int) {
		k, err := ParseKey(s, bits)
		if err != nil {
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("ParseKey(%q, %d): %v, not ErrBadKey", s, bits, err)
			}
			return
		}
		if !k.IsValid() || (k.ID != "") == k.Prefix.IsValid() || k != canonical(k) {
			t.Fatalf("ParseKey(%q, %d) = %#v", s, bits, k)
		}
		if back, err := ParseKey(k.String(), 128); err != nil || back != k {
			t.Fatalf("ParseKey(%q) = %#v, but its String %q reads back as %#v, %v", s, k, k.String(), back, err)
		}
	})
}
