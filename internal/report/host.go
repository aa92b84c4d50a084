// Package report gathers what peerjail recorded about a host — its bans, offences and evidence, from the audit trail and the state file — for `peerjail history` and `peerjail report`.
package report

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/jail"
)

// ErrHost marks a HOST argument that is no address, prefix or identity.
var ErrHost = errors.New("not a host")

// WantHost says what a HOST argument may be, for messages.
const WantHost = "an address as logs write it (203.0.113.7, [2001:db8::1]:4001, /ip4/203.0.113.7/tcp/4001), " +
	"a CIDR prefix (198.51.100.0/24) or an identity (a peer ID)"

// Host selects the keys a command is about: those that are, contain or
// overlap an address or prefix, or one identity. The zero Host selects
// every key.
type Host struct {
	text   string
	prefix netip.Prefix // an address is a /32 or /128
	id     string
}

// ParseHost reads a HOST argument with the filters' address parser.
func ParseHost(s string) (Host, error) {
	if a, ok := addr.ParseString(s); ok {
		a = a.Unmap()
		return Host{text: s, prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return Host{text: s, prefix: p.Masked()}, nil
	}
	k, err := jail.ParseKey(s, jail.DefaultIPv6Prefix)
	if err != nil || k.ID == "" {
		return Host{}, fmt.Errorf("%q: %w: expected %s", s, ErrHost, WantHost)
	}
	return Host{text: s, id: k.ID}, nil
}

// String is the argument as given.
func (h Host) String() string { return h.text }

// IsZero reports whether h selects every key.
func (h Host) IsZero() bool { return h.text == "" }

// Matches reports whether h selects a ban of key, an identity's addrs
// included.
func (h Host) Matches(key string, addrs []string) bool {
	if h.IsZero() {
		return true
	}
	if h.id != "" {
		return key == h.id
	}
	if h.overlaps(key) {
		return true
	}
	for _, a := range addrs {
		if h.overlaps(a) {
			return true
		}
	}
	return false
}

func (h Host) overlaps(key string) bool {
	if p, err := netip.ParsePrefix(key); err == nil {
		return p.Overlaps(h.prefix)
	}
	if a, err := netip.ParseAddr(key); err == nil {
		return h.prefix.Contains(a.Unmap())
	}
	return false
}
