//go:build linux

package nftables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// Verify reads the table, its chain and rules, and the sets that the bans
// are in, without the lock: listing 10,000 elements takes the kernel
// milliseconds, which bans need not wait for.
func (n *nft) Verify(ctx context.Context, jails []firewall.Jail, bans []firewall.Change) (firewall.Drift, error) {
	if err := firewall.CheckJails(jails); err != nil {
		return firewall.Drift{}, err
	}
	norm, err := firewall.RestoreOrder(bans)
	if err != nil {
		return firewall.Drift{}, err
	}
	var d firewall.Drift
	if err := n.read(ctx, func(c *nftables.Conn) error { d = firewall.Drift{}; return verifyOn(c, jails, norm, &d) }); err != nil {
		return firewall.Drift{}, err
	}
	return d, nil
}

func verifyOn(c *nftables.Conn, jails []firewall.Jail, bans []firewall.Change, d *firewall.Drift) error {
	if _, err := c.ListTableOfFamily(firewall.Table, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			d.Table, d.Missing = true, bans
			return nil
		}
		return fmt.Errorf("nftables: read table inet %s: %w", firewall.Table, err)
	}
	sets, err := readSets(c)
	if err != nil {
		return err
	}
	if d.Chain, err = chainDrift(c, jails); err != nil {
		return err
	}
	ok := map[string]*nftables.Set{}
	for _, j := range jails {
		for _, want := range jailSets(ourTable(), j) {
			if s, found := sets[want.Name]; found && compatible(s, want) {
				ok[want.Name] = s
				continue
			}
			d.Sets = append(d.Sets, want.Name)
		}
	}
	d.Missing, err = missing(c, jails, bans, ok)
	return err
}

// chainDrift reports whether the input chain is missing, hooked elsewhere,
// or holds other rules than Setup(jails) adds: a rule someone flushed,
// deleted or added (an accept before the drops would let banned hosts in).
func chainDrift(c *nftables.Conn, jails []firewall.Jail) (bool, error) {
	table := ourTable()
	// ListChain loses the errno of a missing chain; the family's chains
	// are few.
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("nftables: read chains: %w", err)
	}
	i := slices.IndexFunc(chains, func(ch *nftables.Chain) bool { return ch.Table.Name == firewall.Table && ch.Name == firewall.Chain })
	if i < 0 {
		return true, nil
	}
	ch, want := chains[i], inputChain(table)
	if ch.Type != want.Type || ch.Hooknum == nil || *ch.Hooknum != *want.Hooknum ||
		ch.Priority == nil || *ch.Priority != *want.Priority {
		return true, nil
	}
	rules, err := c.GetRules(table, ch)
	if err != nil {
		return false, fmt.Errorf("nftables: read rules of chain %s: %w", firewall.Chain, err)
	}
	var wantSigs []string
	for _, j := range jails {
		for _, r := range jailRules(table, want, j, jailSets(table, j)) {
			wantSigs = append(wantSigs, ruleSig(r.Exprs))
		}
	}
	got := make([]string, len(rules))
	for i, r := range rules {
		got[i] = ruleSig(r.Exprs)
	}
	return !slices.Equal(got, wantSigs), nil
}

// ruleSig describes what a rule matches and does, leaving out what the
// kernel changes (counters) or assigns (set IDs), so that a rule read back
// compares equal to the one sent.
func ruleSig(exprs []expr.Any) string {
	var b strings.Builder
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			fmt.Fprintf(&b, "meta %d;", e.Key)
		case *expr.Cmp:
			fmt.Fprintf(&b, "cmp %d %x;", e.Op, e.Data)
		case *expr.Range:
			fmt.Fprintf(&b, "range %d %x %x;", e.Op, e.FromData, e.ToData)
		case *expr.Payload:
			fmt.Fprintf(&b, "payload %d %d %d;", e.Base, e.Offset, e.Len)
		case *expr.Bitwise:
			fmt.Fprintf(&b, "bitwise %x %x;", e.Mask, e.Xor)
		case *expr.Lookup:
			fmt.Fprintf(&b, "lookup %s %t;", e.SetName, e.Invert)
		case *expr.Counter:
			b.WriteString("counter;")
		case *expr.Verdict:
			fmt.Fprintf(&b, "verdict %d;", e.Kind)
		default:
			fmt.Fprintf(&b, "%T;", e)
		}
	}
	return b.String()
}

// missing returns the bans the kernel lacks: a host key not in its
// hash set (or with no time left), a network not covered by an element of
// its interval set. Only the sets the bans are in are listed; ok holds the
// sets found intact.
func missing(c *nftables.Conn, jails []firewall.Jail, bans []firewall.Change, ok map[string]*nftables.Set) ([]firewall.Change, error) {
	byName := map[string]firewall.Jail{}
	for _, j := range jails {
		byName[j.Name] = j
	}
	hosts := map[string]map[netip.Addr]bool{}
	spans := map[string][]firewall.Span{}
	var missing []firewall.Change
	for _, b := range bans {
		v4 := b.Prefix.Addr().Is4()
		host := byName[b.Jail].IsHost(b.Prefix)
		name := firewall.NetSetName(b.Jail, v4)
		if host {
			name = firewall.SetName(b.Jail, v4)
		}
		s, found := ok[name]
		if !found {
			missing = append(missing, b)
			continue
		}
		if host {
			held, err := hostKeys(c, s, hosts)
			if err != nil {
				return nil, err
			}
			if !held[b.Prefix.Addr()] {
				missing = append(missing, b)
			}
			continue
		}
		if _, done := spans[name]; !done {
			ss, err := readSpans(c, s, v4)
			if err != nil {
				return nil, err
			}
			spans[name] = ss
		}
		if !firewall.Covered(spans[name], b.Prefix) {
			missing = append(missing, b)
		}
	}
	return missing, nil
}

// hostKeys lists a host set once, remembering it in cache: the keys with
// time left.
func hostKeys(c *nftables.Conn, s *nftables.Set, cache map[string]map[netip.Addr]bool) (map[netip.Addr]bool, error) {
	if held, ok := cache[s.Name]; ok {
		return held, nil
	}
	els, err := hostElements(c, s)
	if err != nil {
		return nil, err
	}
	held := make(map[netip.Addr]bool, len(els))
	for _, e := range els {
		if a, ok := netip.AddrFromSlice(e.Key); ok && (e.Timeout == 0 || e.Expires > 0) {
			held[a] = true
		}
	}
	cache[s.Name] = held
	return held, nil
}
