//go:build linux

package nftables

import (
	"errors"
	"fmt"
	mathbits "math/bits"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

func ourTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: firewall.Table}
}

// hostSet is a jail's hash set of host keys of one family. Its comment
// tells the operator (nft list set) what the keys are; peerjail itself
// reads the length from the rules (ruleBits), since the library does not
// read a set's comment back.
func hostSet(t *nftables.Table, jail string, v4 bool, bits int) *nftables.Set {
	key := nftables.TypeIP6Addr
	if v4 {
		key, bits = nftables.TypeIPAddr, 32
	}
	return &nftables.Set{Table: t, Name: firewall.SetName(jail, v4), KeyType: key, HasTimeout: true,
		Comment: fmt.Sprintf("peerjail: hosts by /%d", bits)}
}

// netSet is a jail's interval set of networks of one family.
func netSet(t *nftables.Table, jail string, v4 bool) *nftables.Set {
	key := nftables.TypeIP6Addr
	if v4 {
		key = nftables.TypeIPAddr
	}
	return &nftables.Set{Table: t, Name: firewall.NetSetName(jail, v4), KeyType: key, Interval: true, HasTimeout: true}
}

// jailSets are the sets of a jail, in the order its rules look them up:
// host keys first, which is where nearly every ban is.
func jailSets(t *nftables.Table, j firewall.Jail) []*nftables.Set {
	return []*nftables.Set{
		hostSet(t, j.Name, true, 32), hostSet(t, j.Name, false, j.HostBits()),
		netSet(t, j.Name, true), netSet(t, j.Name, false),
	}
}

// maskBits is the length a rule masks the source address to before looking
// it up in s: for the IPv6 host set, the jail's prefix; else 0, no mask.
func maskBits(s *nftables.Set, j firewall.Jail) int {
	if s.Interval || s.KeyType.Bytes != nftables.TypeIP6Addr.Bytes {
		return 0
	}
	return j.HostBits()
}

// compatible reports whether an existing set can keep its elements: the
// kernel refuses to redefine a set, so one of another type must be replaced.
func compatible(old, want *nftables.Set) bool {
	return old.KeyType.GetNFTMagic() == want.KeyType.GetNFTMagic() &&
		old.KeyType.Bytes == want.KeyType.Bytes &&
		old.Interval == want.Interval && old.HasTimeout && old.Timeout == 0 &&
		!old.Constant && !old.IsMap && !old.Anonymous && !old.Concatenation
}

// readSets returns the sets in table inet peerjail by name; none if the
// table does not exist. It reads no other table.
func readSets(c *nftables.Conn) (map[string]*nftables.Set, error) {
	sets := map[string]*nftables.Set{}
	if _, err := c.ListTableOfFamily(firewall.Table, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return sets, nil
		}
		return nil, fmt.Errorf("nftables: read table inet %s: %w", firewall.Table, err)
	}
	// GetSets loses the errno (it wraps with %v), hence the check above.
	list, err := c.GetSets(ourTable())
	if err != nil {
		return nil, fmt.Errorf("nftables: read sets of table inet %s: %w", firewall.Table, err)
	}
	for _, s := range list {
		sets[s.Name] = s
	}
	return sets, nil
}

// ruleBits returns the length each IPv6 set's rules mask the source to
// before the lookup (128: no mask), as the kernel holds the rules: what is
// enforced is what a host key means. No chain, no lengths.
func ruleBits(c *nftables.Conn) (map[string]int, error) {
	out := map[string]int{}
	// GetRules loses the errno of a missing table or chain; the family's
	// chains are few.
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("nftables: read chains: %w", err)
	}
	if !slices.ContainsFunc(chains, func(ch *nftables.Chain) bool { return ch.Table.Name == firewall.Table && ch.Name == firewall.Chain }) {
		return out, nil
	}
	rules, err := c.GetRules(ourTable(), &nftables.Chain{Name: firewall.Chain, Table: ourTable()})
	if err != nil {
		return nil, fmt.Errorf("nftables: read rules of chain %s: %w", firewall.Chain, err)
	}
	for _, r := range rules {
		bits := 128
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Bitwise:
				bits = 0
				for _, m := range e.Mask {
					bits += mathbits.OnesCount8(m)
				}
			case *expr.Lookup:
				if _, v4, host, ok := firewall.JailOfSet(e.SetName); ok && host && !v4 {
					out[e.SetName] = bits
				}
			}
		}
	}
	return out, nil
}

// setupBatch queues, for one transaction, the table, the chain with fresh
// rules, the jails' sets and the removal of sets no jail uses. The chain is
// flushed first so that no rule still refers to a set that goes. oldBits
// are the lengths the old rules masked IPv6 host keys to: a set whose keys
// were made at another length is replaced, since they no longer fit.
func (n *nft) setupBatch(c *nftables.Conn, jails []firewall.Jail, old map[string]*nftables.Set, oldBits map[string]int) {
	table := c.AddTable(ourTable())
	chain := c.AddChain(inputChain(table))
	c.FlushChain(chain)
	want := map[string]bool{}
	var id uint32
	for _, j := range jails {
		sets := jailSets(table, j)
		for _, s := range sets {
			want[s.Name] = true
			if o, ok := old[s.Name]; ok {
				if !compatible(o, s) {
					n.log.Warn("replacing set of another type; its elements are lost", "set", s.Name)
					c.DelSet(o)
				} else if was, ok := oldBits[s.Name]; ok && maskBits(s, j) > 0 && was != maskBits(s, j) {
					n.log.Warn("replacing set keyed at another ipv6 prefix; its elements are lost", "set", s.Name, "was", was, "now", maskBits(s, j))
					c.DelSet(o)
				}
			}
			// IDs are per batch; setting them keeps AddSet off the
			// library's global counter, which is not safe for concurrent use.
			id++
			s.ID = id
			_ = c.AddSet(s, nil) // fails only for anonymous sets
		}
		for _, r := range jailRules(table, chain, j, sets) {
			c.AddRule(r)
		}
	}
	stale := make([]string, 0, len(old))
	for name := range old {
		if !want[name] {
			stale = append(stale, name)
		}
	}
	slices.Sort(stale)
	for _, name := range stale {
		n.log.Info("removing set of a jail no longer configured", "set", name)
		c.DelSet(old[name])
	}
}
