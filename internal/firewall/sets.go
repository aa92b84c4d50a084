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

// SetName names the set of a jail that holds one address family.
func SetName(jail string, v4 bool) string {
	if v4 {
		return jail + suffix4
	}
	return jail + suffix6
}

// JailOfSet returns the jail a set belongs to and whether it holds IPv4.
func JailOfSet(set string) (jail string, v4, ok bool) {
	if j, ok := strings.CutSuffix(set, suffix4); ok && validName(j) {
		return j, true, true
	}
	if j, ok := strings.CutSuffix(set, suffix6); ok && validName(j) {
		return j, false, true
	}
	return "", false, false
}

// SetPlan is what one set needs: its Planner, after the changes.
type SetPlan struct {
	Set string
	V4  bool
	*Planner
}

// PlanApply groups normalized changes by set, in order of first use, and
// replays each set's changes on its current contents. current returns the
// elements of a set that may overlap the changes' prefixes (all of them will
// do), or an error wrapping ErrUnknownJail.
func PlanApply(changes []Change, current func(set string, changes []Change) ([]Span, error), log *slog.Logger) ([]SetPlan, error) {
	var plans []SetPlan
	var bySet [][]Change
	index := map[string]int{}
	for _, c := range changes {
		v4 := c.Prefix.Addr().Is4()
		name := SetName(c.Jail, v4)
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

// ElementsOf turns a set's spans into Elements; a Span that is not a prefix
// (never added by peerjail) is logged and left out.
func ElementsOf(set string, spans []Span, log *slog.Logger) []Element {
	jail, _, ok := JailOfSet(set)
	if !ok {
		return nil
	}
	out := make([]Element, 0, len(spans))
	for _, s := range spans {
		p, ok := s.Prefix()
		if !ok {
			log.Warn("element is not a prefix, left out", "set", set, "first", s.First, "last", s.Last)
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
