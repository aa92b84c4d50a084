package firewall

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Drift is how table inet peerjail differs from what Setup and the bans
// given to Verify would have left: someone ran `nft flush ruleset` (as
// `systemctl reload nftables` does), deleted the table, a set or an element,
// or replaced the table. The zero Drift means the kernel holds everything.
type Drift struct {
	// Table: table inet peerjail does not exist (and so neither does
	// anything in it).
	Table bool
	// Chain: the input chain is missing, or its rules are not the jails'.
	Chain bool
	// Sets names the jails' sets that are missing, or of another type.
	Sets []string
	// Missing lists the bans the kernel does not hold, whatever the reason
	// (a missing table or set included), as they were given to Verify.
	Missing []Change
}

// None reports whether the kernel holds everything.
func (d Drift) None() bool { return !d.Table && !d.Chain && len(d.Sets) == 0 && len(d.Missing) == 0 }

// Structural reports whether the table, chain or sets must be set up again
// before the missing bans can be put back.
func (d Drift) Structural() bool { return d.Table || d.Chain || len(d.Sets) > 0 }

// What names each kind of drift found, for logs and metrics: "table",
// "chain", "set", "element".
func (d Drift) What() []string {
	var out []string
	if d.Table {
		out = append(out, "table")
	}
	if d.Chain {
		out = append(out, "chain")
	}
	if len(d.Sets) > 0 {
		out = append(out, "set")
	}
	if !d.Table && len(d.Missing) > 0 {
		out = append(out, "element")
	}
	return out
}

// String says what is missing, e.g. "table inet peerjail missing (3 bans)"
// or "set ssh_v4 missing 3 elements".
func (d Drift) String() string {
	if d.None() {
		return "no drift"
	}
	if d.Table {
		return fmt.Sprintf("table inet %s missing (%d %s)", Table, len(d.Missing), plural(len(d.Missing), "ban", "bans"))
	}
	var parts []string
	if d.Chain {
		parts = append(parts, fmt.Sprintf("chain %s missing or its rules changed", Chain))
	}
	gone := map[string]bool{}
	for _, s := range d.Sets {
		gone[s] = true
		parts = append(parts, fmt.Sprintf("set %s missing", s))
	}
	bySet := map[string]int{}
	for _, c := range d.Missing {
		bySet[setOf(c)]++
	}
	names := make([]string, 0, len(bySet))
	for s := range bySet {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		n := bySet[s]
		if gone[s] {
			parts = append(parts, fmt.Sprintf("set %s lost %d %s", s, n, plural(n, "element", "elements")))
			continue
		}
		parts = append(parts, fmt.Sprintf("set %s missing %d %s", s, n, plural(n, "element", "elements")))
	}
	return strings.Join(parts, ", ")
}

// setOf names the set a missing ban belongs in, for String: an IPv4 network
// is in the network set; IPv6 bans are named by the host set, since which
// set holds them depends on the jail's IPv6 prefix, which Drift lacks.
func setOf(c Change) string {
	v4 := c.Prefix.Addr().Is4()
	if v4 && c.Prefix.Bits() < 32 {
		return NetSetName(c.Jail, v4)
	}
	return SetName(c.Jail, v4)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Watcher is a Firewall that can tell when someone else changes its table,
// so that a caller verifies at once instead of at its next period.
type Watcher interface {
	// Watch calls changed, from a goroutine of its own, each time the
	// kernel reports that another process deleted something in any table
	// (a whole transaction calls it once). It returns when ctx is done or
	// the watch fails; the caller then verifies, since changes may have been
	// missed, and may watch again. changed must not block.
	Watch(ctx context.Context, changed func()) error
}

// Validate checks one change as Apply would: an error wrapping
// ErrInvalidChange means no backend accepts it, however often it is tried.
func Validate(c Change) error {
	_, err := normalize(c)
	return err
}

// Covered reports whether a span of the sorted, disjoint spans holds p and
// has time left.
func Covered(spans []Span, p netip.Prefix) bool {
	s := SpanOf(p)
	i := sort.Search(len(spans), func(i int) bool { return spans[i].Last.Compare(s.First) >= 0 })
	return i < len(spans) && spans[i].Contains(s) && (spans[i].Timeout == 0 || spans[i].Remaining > 0)
}

// WantSets names the sets of jails.
func WantSets(jails []Jail) []string {
	out := make([]string, 0, 4*len(jails))
	for _, j := range jails {
		out = append(out, SetName(j.Name, true), SetName(j.Name, false), NetSetName(j.Name, true), NetSetName(j.Name, false))
	}
	return out
}
