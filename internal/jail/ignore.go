package jail

import (
	"net/netip"
	"slices"
)

// ignoreSet answers "is this address inside any ignored prefix" with one map
// lookup per distinct prefix length in use, not per prefix: lists of hundreds
// of prefixes (a provider's ranges) usually have a handful of lengths.
type ignoreSet struct {
	prefixes map[netip.Prefix]struct{}
	lens4    []int // distinct lengths of the IPv4 prefixes
	lens6    []int
}

func newIgnoreSet(ps []netip.Prefix) ignoreSet {
	s := ignoreSet{prefixes: make(map[netip.Prefix]struct{}, len(ps))}
	for _, p := range ps {
		k := prefixKey(p)
		if !k.Prefix.IsValid() {
			continue
		}
		s.prefixes[k.Prefix] = struct{}{}
		lens := &s.lens6
		if k.Prefix.Addr().Is4() {
			lens = &s.lens4
		}
		if !slices.Contains(*lens, k.Prefix.Bits()) {
			*lens = append(*lens, k.Prefix.Bits())
		}
	}
	return s
}

// contains reports whether a (unmapped, zone-free) is ignored.
func (s *ignoreSet) contains(a netip.Addr) bool {
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
