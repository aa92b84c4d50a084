package jail

import (
	"net/netip"
	"slices"
)

// ignoreSet answers "is this address inside any ignored prefix" with one map
// lookup per distinct prefix length in use, not per prefix: lists of hundreds
// of prefixes (a provider's ranges) usually have a handful of lengths.
//
// It also knows which IPv6 groups hold an ignored prefix: a hit from such a
// group is counted and banned by its /128 alone, since banning the group would
// cut off the ignored addresses inside it (a ban of ::/64 cuts off ::1).
type ignoreSet struct {
	prefixes map[netip.Prefix]struct{}
	entries  []ignoreEntry // every prefix with why it is there, in list order
	lens4    []int         // distinct lengths of the IPv4 prefixes
	lens6    []int
	bits     int                       // the jail's IPv6 group length
	narrow   map[netip.Prefix]struct{} // IPv6 groups (at bits) holding an ignored prefix
}

type ignoreEntry struct {
	prefix netip.Prefix
	why    string
}

// Reasons an address is ignored, as Ignores reports them.
const (
	whyIgnoreIP = "ignoreip"
	whySelf     = "own address (ignoreself)"
)

// specialAddrs are ignored by every jail whatever its ignoreip says: no peer
// sends from them, so a hit naming one is forged or a filter's mistake, and a
// ban of one cuts off the host itself (loopback) or its network's plumbing.
// IPv4-mapped forms are covered too, since addresses are unmapped first.
var specialAddrs = []ignoreEntry{
	{netip.MustParsePrefix("0.0.0.0/8"), "special address (unspecified)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "special address (loopback)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "special address (link-local)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "special address (multicast)"},
	{netip.MustParsePrefix("255.255.255.255/32"), "special address (broadcast)"},
	{netip.MustParsePrefix("::/128"), "special address (unspecified)"},
	{netip.MustParsePrefix("::1/128"), "special address (loopback)"},
	{netip.MustParsePrefix("fe80::/10"), "special address (link-local)"},
	{netip.MustParsePrefix("ff00::/8"), "special address (multicast)"},
}

// newIgnoreSet builds the set for a jail grouping IPv6 by bits from the
// special addresses, the configured ignoreip entries and this host's own
// addresses. Every jail gets its set from here, so no configuration can leave
// the special addresses out.
func newIgnoreSet(bits int, ignoreIP, self []netip.Prefix) ignoreSet {
	s := ignoreSet{prefixes: make(map[netip.Prefix]struct{}), bits: bits, narrow: make(map[netip.Prefix]struct{})}
	for _, e := range specialAddrs {
		// Checked by isSpecial, not by lookups: they would cost every
		// hit four more map lookups.
		s.entries = append(s.entries, e)
		if !e.prefix.Addr().Is4() && e.prefix.Bits() > bits {
			g, _ := e.prefix.Addr().Prefix(bits)
			s.narrow[g] = struct{}{}
		}
	}
	for _, p := range ignoreIP {
		s.add(p, whyIgnoreIP)
	}
	for _, p := range self {
		s.add(p, whySelf)
	}
	return s
}

func (s *ignoreSet) add(p netip.Prefix, why string) {
	k := prefixKey(p)
	if !k.Prefix.IsValid() {
		return
	}
	p = k.Prefix
	s.entries = append(s.entries, ignoreEntry{prefix: p, why: why})
	if _, dup := s.prefixes[p]; dup {
		return
	}
	s.prefixes[p] = struct{}{}
	lens := &s.lens6
	if p.Addr().Is4() {
		lens = &s.lens4
	} else if p.Bits() > s.bits {
		// A shorter ignored prefix holds the whole group: its hits are
		// ignored before any key is made, so no narrowing is needed.
		g, _ := p.Addr().Prefix(s.bits)
		s.narrow[g] = struct{}{}
	}
	if !slices.Contains(*lens, p.Bits()) {
		*lens = append(*lens, p.Bits())
	}
}

// contains reports whether a (unmapped, zone-free) is ignored.
func (s *ignoreSet) contains(a netip.Addr) bool {
	if isSpecial(a) {
		return true
	}
	if len(s.prefixes) == 0 {
		return false
	}
	lens := s.lens6
	if a.Is4() {
		lens = s.lens4
	}
	for _, bits := range lens {
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if _, ok := s.prefixes[p]; ok {
			return true
		}
	}
	return false
}

// isSpecial reports whether a is in specialAddrs.
func isSpecial(a netip.Addr) bool {
	if a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[0] == 0 || b == [4]byte{255, 255, 255, 255}
	}
	return false
}

// narrows reports whether the IPv6 group g (at the set's bits) holds an
// ignored prefix, so that its hosts must be keyed by /128.
func (s *ignoreSet) narrows(g netip.Prefix) bool {
	if len(s.narrow) == 0 {
		return false
	}
	_, ok := s.narrow[g]
	return ok
}

// overlap returns the first entry sharing an address with p.
func (s *ignoreSet) overlap(p netip.Prefix) (ignoreEntry, bool) {
	for _, e := range s.entries {
		if e.prefix.Overlaps(p) {
			return e, true
		}
	}
	return ignoreEntry{}, false
}
