// Package addr parses the forms in which logs write a peer's address.
package addr

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// Parse returns the address in b, which is one of
//
//	203.0.113.7            2001:db8::1
//	203.0.113.7:4001       [2001:db8::1]:4001
//	::ffff:203.0.113.7     (returned as 203.0.113.7)
//	/ip4/203.0.113.7/tcp/4001/...   /ip6/2001:db8::1/udp/4001/quic-v1/...
//
// An IPv6 zone is dropped. Anything else, including host names and /dns
// multiaddrs, is not an address.
func Parse(b []byte) (netip.Addr, bool) {
	if len(b) == 0 || len(b) > 512 {
		return netip.Addr{}, false
	}
	var a netip.Addr
	var ok bool
	switch b[0] {
	case '/':
		a, ok = parseMultiaddr(b)
	case '[':
		a, ok = parseBracketed(b)
	default:
		a, ok = parsePlain(b)
	}
	if !ok {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// ParseString is Parse for a string.
func ParseString(s string) (netip.Addr, bool) { return Parse([]byte(s)) }

// parseMultiaddr reads /ip4/A/... or /ip6/A/...; the transport suffix, if any,
// is not interpreted: go-libp2p writes many (tcp, udp/quic-v1, webtransport,
// certhash), and only the address matters here.
func parseMultiaddr(b []byte) (netip.Addr, bool) {
	if len(b) < 6 || b[0] != '/' || b[1] != 'i' || b[2] != 'p' || b[4] != '/' {
		return netip.Addr{}, false
	}
	v := b[3]
	if v != '4' && v != '6' {
		return netip.Addr{}, false
	}
	rest := b[5:]
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if v == '4' {
		return parseIPv4(rest)
	}
	a, ok := parseIPv6(rest)
	if !ok || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseBracketed reads [v6] or [v6]:port.
func parseBracketed(b []byte) (netip.Addr, bool) {
	end := bytes.IndexByte(b, ']')
	if end < 0 {
		return netip.Addr{}, false
	}
	if tail := b[end+1:]; len(tail) > 0 && (tail[0] != ':' || !isPort(tail[1:])) {
		return netip.Addr{}, false
	}
	return parseIPv6(b[1:end])
}

// parsePlain reads v4, v4:port or v6. A v6 address with a port but no
// brackets is ambiguous and read as a plain v6 address, as the port cannot be
// told from the last group.
func parsePlain(b []byte) (netip.Addr, bool) {
	colons := bytes.Count(b, []byte{':'})
	switch {
	case colons == 0:
		return parseIPv4(b)
	case colons == 1:
		i := bytes.IndexByte(b, ':')
		if !isPort(b[i+1:]) {
			return netip.Addr{}, false
		}
		return parseIPv4(b[:i])
	}
	return parseIPv6(b)
}

// parseIPv4 is a dotted quad without leading zeros (as netip requires), done
// by hand because it runs for most hits and must not allocate. It reads a
// field at a time, not a byte at a time with a state for each (19 -> 14 ns
// per address in BenchmarkParseIPv4), and gathers the fields in a register:
// netip.AddrFrom4 reads its four bytes as one word, which after four
// single-byte stores waited for them (a store-forwarding stall: a sixth of
// parseIPv4's time in the replay's perf annotate). FuzzParseIPv4 checks it
// against netip.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var u uint32
	i := 0
	for f := range 4 {
		if f > 0 {
			if i >= len(b) || b[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return netip.Addr{}, false
		}
		v := uint32(b[i] - '0')
		i++
		if v != 0 { // a leading 0 is the whole field
			for n := 1; n < 3 && i < len(b) && b[i] >= '0' && b[i] <= '9'; n++ {
				v = v*10 + uint32(b[i]-'0')
				i++
			}
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		u = u<<8 | v
	}
	if i != len(b) {
		return netip.Addr{}, false
	}
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], u)
	return netip.AddrFrom4(out), true
}

func isPort(b []byte) bool {
	if len(b) == 0 || len(b) > 5 {
		return false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
