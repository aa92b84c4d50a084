package addr

import (
	"bytes"
	"net/netip"
)

// parseIPv6 is netip.ParseAddr followed by Is6 (an IPv6 address, its zone
// kept), read from bytes: ParseAddr takes a string, and string(b) allocates
// since the zone it may keep escapes. A libp2p node logs many /ip6
// multiaddrs; BenchmarkParseIPv6 measures 74 ns and one allocation per
// address for netip.ParseAddr(string(b)), 31 ns and none for this.
// FuzzParseIPv6 checks that both agree on every input. An address with a
// zone is rare in logs and left to netip.
func parseIPv6(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, '%') >= 0 {
		a, err := netip.ParseAddr(string(b))
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a, true
	}
	var ip [16]byte
	ellipsis := -1 // where "::" stands in ip
	s := b
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, uint32(0)
		for ; off < len(s); off++ {
			d := hexValue[s[off]]
			if d > 15 {
				break
			}
			if off > 3 { // a fifth digit; netip also checks this before the value
				return netip.Addr{}, false
			}
			acc = acc<<4 | uint32(d)
		}
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(s) && s[off] == '.' { // a trailing IPv4 address
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return netip.Addr{}, false
			}
			if !ipv4Fields(s, ip[i:i+4]) {
				return netip.Addr{}, false
			}
			s = nil
			i += 4
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}

// ipv4Fields reads the dotted quad that ends an IPv6 address into f, as
// netip does: no leading zeros, no empty field.
func ipv4Fields(s []byte, f []byte) bool {
	val, pos, digits := 0, 0, 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return false
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return false
			}
		case c == '.':
			if i == 0 || i == len(s)-1 || s[i-1] == '.' || pos == 3 {
				return false
			}
			f[pos] = byte(val)
			pos, val, digits = pos+1, 0, 0
		default:
			return false
		}
	}
	if pos < 3 {
		return false
	}
	f[3] = byte(val)
	return true
}

// hexValue maps a hex digit to its value and any other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()
