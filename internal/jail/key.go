package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/peerjail/peerjail/internal/filter"
)

// Key is what a jail counts and bans: an address prefix (IPv4 /32, IPv6 grouped
// by the jail's IPv6Prefix), or an identity such as a peer ID. Exactly one of
// Prefix and ID is set. Keys are comparable and serve as map keys.
type Key struct {
	Prefix netip.Prefix
	ID     string
}

// ErrBadKey marks text ParseKey cannot read as a host.
var ErrBadKey = errors.New("not an address, prefix or identity")

// IsValid reports whether k names anyone.
func (k Key) IsValid() bool { return k.Prefix.IsValid() || k.ID != "" }

// String prints a single address bare (203.0.113.7), any wider prefix in CIDR
// form (2001:db8:1:2::/64), and an identity as itself.
func (k Key) String() string {
	switch {
	case k.ID != "":
		return k.ID
	case !k.Prefix.IsValid():
		return ""
	case k.Prefix.IsSingleIP():
		return k.Prefix.Addr().String()
	}
	return k.Prefix.String()
}

// addrKey groups a into its key: IPv4 (also when mapped into IPv6) by /32,
// IPv6 by bits. Zones are dropped: fe80::1%eth0 and fe80::1%eth1 are one host
// as far as a firewall set is concerned.
func addrKey(a netip.Addr, bits int) Key {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return Key{Prefix: netip.PrefixFrom(a, 32)}
	}
	p, _ := a.Prefix(bits) // cannot fail: a is a valid IPv6 address, bits in 1–128
	return Key{Prefix: p}
}

// prefixKey canonicalises p: IPv4-mapped prefixes become IPv4, host bits are
// cleared.
func prefixKey(p netip.Prefix) Key {
	a, bits := p.Addr().WithZone(""), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	q, err := a.Prefix(bits)
	if err != nil {
		return Key{}
	}
	return Key{Prefix: q}
}

// canonical brings a key from outside (CLI, state store) into the form KeyFor
// produces, so it finds the same map entries.
func canonical(k Key) Key {
	if k.ID != "" {
		return Key{ID: k.ID}
	}
	if !k.Prefix.IsValid() {
		return Key{}
	}
	return prefixKey(k.Prefix)
}

// KeyFor returns the key a hit on h counts towards; false when h names no one.
// An IPv6 address whose group holds an ignored or own address is keyed by its
// /128: banning the group would cut those off.
func (j *Counter) KeyFor(h filter.Host) (Key, bool) {
	switch {
	case h.Addr.IsValid():
		k := addrKey(h.Addr, j.cfg.IPv6Prefix)
		if k.Prefix.Bits() < 128 && k.Prefix.Addr().Is6() && j.ignore.narrows(k.Prefix) {
			k = Key{Prefix: netip.PrefixFrom(h.Addr.Unmap().WithZone(""), 128)}
		}
		return k, true
	case h.ID != "":
		return Key{ID: h.ID}, true
	}
	return Key{}, false
}

// ParseKey reads a host as the CLI gives it (`peerjail ban JAIL HOST`): an
// address, grouped like a hit's (IPv6 by ipv6Prefix, 0 meaning 64), a prefix in
// CIDR form kept at its own length, or else an identity. Text that looks like an
// address but does not parse (1.2.3, 2001:db8:::1) is an error rather than
// silently becoming an identity nobody will ever match. For any key k it
// returns, ParseKey(k.String(), 128) returns k again.
func ParseKey(s string, ipv6Prefix int) (Key, error) {
	if ipv6Prefix == 0 {
		ipv6Prefix = DefaultIPv6Prefix
	}
	if ipv6Prefix < 1 || ipv6Prefix > 128 {
		return Key{}, fmt.Errorf("parse key %q: ipv6 prefix /%d is outside 1–128: %w", s, ipv6Prefix, ErrBadKey)
	}
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return addrKey(a, ipv6Prefix), nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return prefixKey(p), nil
	}
	if s == "" || looksLikeAddr(s) || strings.ContainsFunc(s, isSpaceOrControl) {
		return Key{}, fmt.Errorf("parse key %q: %w", s, ErrBadKey)
	}
	return Key{ID: s}, nil
}

// looksLikeAddr reports whether s is made only of what addresses and prefixes
// are made of and has a separator; peer IDs (base58, hex) have no separators.
func looksLikeAddr(s string) bool {
	if !strings.ContainsAny(s, ".:/") {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF.:/%", r) {
			return false
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
