package firewall

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

const (
	suffix4 = "_v4"
	suffix6 = "_v6"
)

// setName names the set of a jail that holds one address family.
func setName(jail string, v4 bool) string {
	if v4 {
		return jail + suffix4
	}
	return jail + suffix6
}

// jailOf returns the jail a set belongs to and whether it holds IPv4.
func jailOf(set string) (jail string, v4, ok bool) {
	if j, ok := strings.CutSuffix(set, suffix4); ok && validName(j) {
		return j, true, true
	}
	if j, ok := strings.CutSuffix(set, suffix6); ok && validName(j) {
		return j, false, true
	}
	return "", false, false
}

// setPlan is what one set needs: its planner, after the changes.
type setPlan struct {
	set string
	v4  bool
	*planner
}

// planApply groups normalized changes by set, in order of first use, and
// replays each set's changes on its current contents. current returns the
// elements of a set that may overlap the changes' prefixes (all of them will
// do), or an error wrapping ErrUnknownJail.
func planApply(changes []Change, current func(set string, changes []Change) ([]span, error), log *slog.Logger) ([]setPlan, error) {
	var plans []setPlan
	var bySet [][]Change
	index := map[string]int{}
	for _, c := range changes {
		v4 := c.Prefix.Addr().Is4()
		name := setName(c.Jail, v4)
		i, ok := index[name]
		if !ok {
			i = len(plans)
			index[name] = i
			plans = append(plans, setPlan{set: name, v4: v4})
			bySet = append(bySet, nil)
		}
		bySet[i] = append(bySet[i], c)
	}
	for i := range plans {
		cur, err := current(plans[i].set, bySet[i])
		if err != nil {
			return nil, err
		}
		p := newPlanner(cur)
		for _, c := range bySet[i] {
			if !c.Add {
				p.remove(c.Prefix)
			} else if !p.add(c.Prefix, c.Timeout) {
				log.Debug("ban already covered by a wider element", "jail", c.Jail, "prefix", c.Prefix)
			}
		}
		plans[i].planner = p
	}
	return plans, nil
}

// restoreOrder checks the bans given to Restore and sorts them by jail and
// address, wider prefixes first: overlapping bans then resolve to the
// widest, whatever order they came in, and each set's planner appends
// instead of inserting (100,000 random inserts move gigabytes).
func restoreOrder(bans []Change) ([]Change, error) {
	norm, err := normalizeAll(bans)
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

// elementsOf turns a set's spans into Elements; a span that is not a prefix
// (never added by peerjail) is logged and left out.
func elementsOf(set string, spans []span, log *slog.Logger) []Element {
	jail, _, ok := jailOf(set)
	if !ok {
		return nil
	}
	out := make([]Element, 0, len(spans))
	for _, s := range spans {
		p, ok := s.prefix()
		if !ok {
			log.Warn("element is not a prefix, left out", "set", set, "first", s.first, "last", s.last)
			continue
		}
		out = append(out, Element{Jail: jail, Prefix: p, Remaining: s.remaining})
	}
	return out
}

// sortElements orders elements by jail, then IPv4 before IPv6, then address.
func sortElements(els []Element) {
	slices.SortFunc(els, func(a, b Element) int {
		return cmp.Or(
			strings.Compare(a.Jail, b.Jail),
			a.Prefix.Addr().Compare(b.Prefix.Addr()),
			cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		)
	})
}
