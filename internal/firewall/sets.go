package firewall

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
)

// A jail's bans live in four sets: its host keys — IPv4 addresses and IPv6
// groups at the jail's IPv6 prefix — in <jail>_v4 and <jail>_v6, where each
// is one key found in constant time; every other prefix (a manual network,
// an IPv6 host the jail narrowed to /128 near an own or ignored address) in
// the network sets <jail>_n4 and <jail>_n6, which hold ranges and so few
// elements.
const (
	suffix4    = "_v4"
	suffix6    = "_v6"
	suffixNet4 = "_n4"
	suffixNet6 = "_n6"
)

// SetName names the host set of a jail that holds one address family.
func SetName(jail string, v4 bool) string {
	if v4 {
		return jail + suffix4
	}
	return jail + suffix6
}

// NetSetName names the network set of a jail that holds one address family.
func NetSetName(jail string, v4 bool) string {
	if v4 {
		return jail + suffixNet4
	}
	return jail + suffixNet6
}

// JailOfSet returns the jail a set belongs to, whether it holds IPv4 and
// whether it is a host set (else a network set).
func JailOfSet(set string) (jail string, v4, host, ok bool) {
	for _, s := range []struct {
		suffix   string
		v4, host bool
	}{{suffix4, true, true}, {suffix6, false, true}, {suffixNet4, true, false}, {suffixNet6, false, false}} {
		if j, ok := strings.CutSuffix(set, s.suffix); ok && validName(j) {
			return j, s.v4, s.host, true
		}
	}
	return "", false, false, false
}

// HostBits is the length the jail's IPv6 host keys have.
func (j Jail) HostBits() int {
	if j.IPv6Prefix == 0 {
		return 64
	}
	return j.IPv6Prefix
}

// IsHost reports whether a normalized prefix is one of the jail's host keys
// (an IPv4 address, an IPv6 group at the jail's prefix), else a network.
func (j Jail) IsHost(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return p.Bits() == 32
	}
	return p.Bits() == j.HostBits()
}

// SetPlan is what one network set needs: its Planner, after the changes.
type SetPlan struct {
	Set string
	V4  bool
	*Planner
}

// PlanApply groups normalized network changes by network set, in order of first use, and
// replays each set's changes on its current contents. current returns the
// elements of a set that may overlap the changes' prefixes (all of them will
// do), or an error wrapping ErrUnknownJail.
func PlanApply(changes []Change, current func(set string, changes []Change) ([]Span, error), log *slog.Logger) ([]SetPlan, error) {
	var plans []SetPlan
	var bySet [][]Change
	index := map[string]int{}
	for _, c := range changes {
		v4 := c.Prefix.Addr().Is4()
		name := NetSetName(c.Jail, v4)
		i, ok := index[name]
		if !ok {
			i = len(plans)
			index[name] = i
			plans = append(plans, SetPlan{Set: name, V4: v4})
			bySet = append(bySet, nil)
		}
		bySet[i] = append(bySet[i], c)
	}
	for i := range plans {
		cur, err := current(plans[i].Set, bySet[i])
		if err != nil {
			return nil, err
		}
		p := NewPlanner(cur)
		for _, c := range bySet[i] {
			if !c.Add {
				p.Remove(c.Prefix)
			} else if !p.Add(c.Prefix, c.Timeout) {
				log.Debug("ban already covered by a wider element", "jail", c.Jail, "prefix", c.Prefix)
			}
		}
		plans[i].Planner = p
	}
	return plans, nil
}

// RestoreOrder checks the bans given to Restore and sorts them by jail and
// address, wider prefixes first: overlapping bans then resolve to the
// widest, whatever order they came in, and each set's Planner appends
// instead of inserting (100,000 random inserts move gigabytes).
func RestoreOrder(bans []Change) ([]Change, error) {
	norm, err := Normalize(bans)
	if err != nil {
		return nil, err
	}
	for _, c := range norm {
		if !c.Add {
			return nil, fmt.Errorf("%w: jail %q: restore only adds bans, not the removal of %s", ErrInvalidChange, c.Jail, c.Prefix)
		}
	}
	slices.SortFunc(norm, func(a, b Change) int {
		return cmp.Or(
			strings.Compare(a.Jail, b.Jail),
			a.Prefix.Addr().Compare(b.Prefix.Addr()),
			cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		)
	})
	return norm, nil
}

// ElementsOf turns the spans of a jail's network set into Elements; a Span
// that is not a prefix (never added by peerjail) is logged and left out.
func ElementsOf(jail string, spans []Span, log *slog.Logger) []Element {
	out := make([]Element, 0, len(spans))
	for _, s := range spans {
		p, ok := s.Prefix()
		if !ok {
			log.Warn("element is not a prefix, left out", "jail", jail, "first", s.First, "last", s.Last)
			continue
		}
		out = append(out, Element{Jail: jail, Prefix: p, Remaining: s.Remaining})
	}
	return out
}

// SortElements orders elements by jail, then IPv4 before IPv6, then address.
func SortElements(els []Element) {
	slices.SortFunc(els, func(a, b Element) int {
		return cmp.Or(
			strings.Compare(a.Jail, b.Jail),
			a.Prefix.Addr().Compare(b.Prefix.Addr()),
			cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		)
	})
}
