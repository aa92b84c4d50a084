//go:build linux

package nftables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// Verify reads the table, its chain and rules, and the sets that the bans
// are in, without the lock: listing 10,000 elements takes the kernel tens of
// milliseconds, which bans need not wait for.
func (n *nft) Verify(ctx context.Context, jails []firewall.Jail, bans []firewall.Change) (firewall.Drift, error) {
	if err := firewall.CheckJails(jails); err != nil {
		return firewall.Drift{}, err
	}
	norm, err := firewall.RestoreOrder(bans)
	if err != nil {
		return firewall.Drift{}, err
	}
	end, err := n.begin(ctx)
	if err != nil {
		return firewall.Drift{}, err
	}
	end()
	var d firewall.Drift
	if err := n.withConn(func(c *nftables.Conn) error { return n.verifyOn(c, jails, norm, &d) }); err != nil {
		return firewall.Drift{}, err
	}
	if !d.None() {
		n.mu.Lock()
		n.cache.clear()
		n.mu.Unlock()
	}
	return d, nil
}

func (n *nft) verifyOn(c *nftables.Conn, jails []firewall.Jail, bans []firewall.Change, d *firewall.Drift) error {
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
	if d.Chain, err = n.chainDrift(c, jails); err != nil {
		return err
	}
	ok := map[string]*nftables.Set{}
	for _, j := range jails {
		for _, want := range n.jailSets(ourTable(), j) {
			if s, found := sets[want.Name]; found && compatible(s, want) {
				ok[want.Name] = s
				continue
			}
			d.Sets = append(d.Sets, want.Name)
		}
	}
	if n.cfg.hash {
		d.Missing, err = hashMissing(c, jails, bans, ok)
		return err
	}
	listed := map[string][]firewall.Span{}
	for _, b := range bans {
		name := firewall.SetName(b.Jail, b.Prefix.Addr().Is4())
		s, found := ok[name]
		if _, done := listed[name]; !found || done {
			continue
		}
		spans, err := readSpans(c, s, b.Prefix.Addr().Is4())
		if err != nil {
			return err
		}
		listed[name] = spans // spansOf sorts them
	}
	d.Missing = firewall.VerifyBans(bans, func(set string) ([]firewall.Span, bool) {
		s, ok := listed[set]
		return s, ok
	})
	return nil
}

// chainDrift reports whether the input chain is missing, hooked elsewhere,
// or holds other rules than Setup(jails) adds: a rule someone flushed,
// deleted or added (an accept before the drops would let banned hosts in).
func (n *nft) chainDrift(c *nftables.Conn, jails []firewall.Jail) (bool, error) {
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
		for _, r := range jailRules(table, want, j, n.jailSets(table, j)) {
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
