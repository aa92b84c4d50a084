//go:build linux

package nftables

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

func ourTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: firewall.Table}
}

// newSet describes a jail's set as peerjail wants it.
func newSet(t *nftables.Table, name string, v4 bool) *nftables.Set {
	key := nftables.TypeIP6Addr
	if v4 {
		key = nftables.TypeIPAddr
	}
	return &nftables.Set{Table: t, Name: name, KeyType: key, Interval: true, HasTimeout: true}
}

// jailSets are the sets of a jail, in the order its rules look them up:
// the interval layout's two, or the hash layout's four (see hash_linux.go).
func (n *nft) jailSets(t *nftables.Table, j firewall.Jail) []*nftables.Set {
	if n.cfg.hash {
		return hashSets(t, j)
	}
	return []*nftables.Set{newSet(t, firewall.SetName(j.Name, true), true), newSet(t, firewall.SetName(j.Name, false), false)}
}

// compatible reports whether an existing set can keep its elements: the
// kernel refuses to redefine a set, so one of another type must be replaced.
func compatible(old, want *nftables.Set) bool {
	return old.KeyType.GetNFTMagic() == want.KeyType.GetNFTMagic() &&
		old.KeyType.Bytes == want.KeyType.Bytes &&
		old.Interval == want.Interval &&
		old.HasTimeout && old.Timeout == 0 &&
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

// setupBatch queues, for one transaction, the table, the chain with fresh
// rules, the jails' sets and the removal of sets no jail uses. The chain is
// flushed first so that no rule still refers to a set that goes.
func (n *nft) setupBatch(c *nftables.Conn, jails []firewall.Jail, old map[string]*nftables.Set, oldBits map[string]int) {
	table := c.AddTable(ourTable())
	chain := c.AddChain(inputChain(table))
	c.FlushChain(chain)
	want := map[string]bool{}
	var id uint32
	for _, j := range jails {
		sets := n.jailSets(table, j)
		for _, s := range sets {
			want[s.Name] = true
			if o, ok := old[s.Name]; ok && !compatible(o, s) {
				n.log.Warn("replacing set of another type; its elements are lost", "set", s.Name)
				c.DelSet(o)
			} else if b, ok := oldBits[s.Name]; ok && b != maskBits(s, j) && maskBits(s, j) > 0 {
				n.log.Warn("replacing set keyed at another ipv6 prefix; its elements are lost", "set", s.Name, "was", b, "now", maskBits(s, j))
				c.DelSet(o)
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
