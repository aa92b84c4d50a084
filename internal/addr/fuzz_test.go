package addr

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, returns only valid unzoned and
// unmapped addresses, and agrees with netip on the plain forms.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4:80", "[::1]:80", "::ffff:1.2.3.4", "/ip4/1.2.3.4/tcp/1",
		"/ip6/2001:db8::1/udp/1/quic-v1", "fe80::1%eth0", "[fe80::1%eth0]:1", "/ip4/", "\x00", "[", "/ip6/::"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := Parse(b)
		if !ok {
			if a.IsValid() {
				t.Fatalf("Parse(%q) failed but returned %v", b, a)
			}
			return
		}
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("Parse(%q) = %v: not a plain address", b, a)
		}
		s := string(b)
		if strings.ContainsAny(s, "[]/") || strings.Count(s, ":") == 1 {
			return
		}
		if want, err := netip.ParseAddr(s); err == nil && want.Unmap().WithZone("") != a {
			t.Fatalf("Parse(%q) = %v, netip says %v", b, a, want)
		}
	})
}
