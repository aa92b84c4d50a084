//go:build linux

package nftables

import (
	"errors"
	"fmt"
	mathbits "math/bits"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/peerjail/peerjail/internal/firewall"
)

// The hash layout keys a jail's hosts where the kernel finds them in
// constant time: <jail>_v4 holds IPv4 addresses and <jail>_v6 IPv6
// addresses masked to the jail's IPv6 prefix (the rule masks the source
// the same way), both hash sets with timeouts. Every other ban — a manual
// CIDR, or an IPv6 host the jail narrowed to /128 because its group holds
// an own or ignored address — goes to a small interval set per family,
// <jail>_n4 and <jail>_n6. A hash element is one key, so it needs no
// planning against its neighbours; only the interval sets do, on what the
// kernel lists (they hold a few elements).
const (
	suffixNet4 = "_n4"
	suffixNet6 = "_n6"
)

// netSetName names a jail's interval set of one family.
func netSetName(jail string, v4 bool) string {
	if v4 {
		return jail + suffixNet4
	}
	return jail + suffixNet6
}

// v6Bits is the length a jail's IPv6 hosts are keyed at.
func v6Bits(j firewall.Jail) int {
	if j.IPv6Prefix == 0 {
		return 64
	}
	return j.IPv6Prefix
}

// hostComment tells the operator (nft list set) what a host set's keys
// are; peerjail itself reads the length from the rules (ruleBits), since
// the library does not read a set's comment back.
func hostComment(bits int) string { return fmt.Sprintf("peerjail: hosts by /%d", bits) }

func hostSet(t *nftables.Table, jail string, v4 bool, bits int) *nftables.Set {
	key := nftables.TypeIP6Addr
	if v4 {
		key, bits = nftables.TypeIPAddr, 32
	}
	return &nftables.Set{Table: t, Name: firewall.SetName(jail, v4), KeyType: key, HasTimeout: true, Comment: hostComment(bits)}
}

func netSet(t *nftables.Table, jail string, v4 bool) *nftables.Set {
	s := newSet(t, netSetName(jail, v4), v4)
	return s
}

// hashSets are a jail's sets in the hash layout.
func hashSets(t *nftables.Table, j firewall.Jail) []*nftables.Set {
	bits := v6Bits(j)
	return []*nftables.Set{hostSet(t, j.Name, true, 32), hostSet(t, j.Name, false, bits), netSet(t, j.Name, true), netSet(t, j.Name, false)}
}

// maskBits is the length a rule masks the source address to before looking
// it up in s: a host set of IPv6 groups wider than /128; 0 for no mask.
func maskBits(s *nftables.Set, j firewall.Jail) int {
	if s.Interval || s.KeyType.Bytes != nftables.TypeIP6Addr.Bytes {
		return 0
	}
	return v6Bits(j)
}

// isHost reports whether a normalized prefix is a host key of a jail whose
// IPv6 hosts are keyed at bits.
func isHost(p netip.Prefix, bits int) bool {
	if p.Addr().Is4() {
		return p.Bits() == 32
	}
	return p.Bits() == bits
}

// bitsOf returns the IPv6 prefix length of each jail the changes name, from
// Setup, or else from the rules in the kernel.
func (n *nft) bitsOf(c *nftables.Conn, changes []firewall.Change) (map[string]int, error) {
	out := map[string]int{}
	var kernel map[string]int
	for _, ch := range changes {
		if _, ok := out[ch.Jail]; ok {
			continue
		}
		if j, ok := n.jails[ch.Jail]; ok {
			out[ch.Jail] = v6Bits(j)
			continue
		}
		if kernel == nil {
			var err error
			if kernel, err = ruleBits(c); err != nil {
				return nil, err
			}
		}
		bits, ok := kernel[firewall.SetName(ch.Jail, false)]
		if !ok {
			return nil, fmt.Errorf("jail %q: %w", ch.Jail, firewall.ErrUnknownJail)
		}
		out[ch.Jail] = bits
	}
	return out, nil
}

// ruleBits returns the length each IPv6 set's rules mask the source to
// before the lookup (128: no mask), as the kernel holds the rules: what is
// enforced is what a host key means. No chain, no lengths.
func ruleBits(c *nftables.Conn) (map[string]int, error) {
	out := map[string]int{}
	rules, err := c.GetRules(ourTable(), &nftables.Chain{Name: firewall.Chain, Table: ourTable()})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return out, nil
		}
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
				if _, v4, ok := firewall.JailOfSet(e.SetName); ok && !v4 {
					out[e.SetName] = bits
				}
			}
		}
	}
	return out, nil
}

// hostOps are the elements one transaction sends to a host set: ensure
// adds every key it touches, so that del never names a missing element
// (which fails the whole transaction), and add puts the bans in with their
// timeouts. Re-adding an element so replaces its timeout on every kernel.
type hostOps struct {
	set              *nftables.Set
	ensure, del, add []nftables.SetElement
}

// splitHash sorts normalized changes into host operations per host set, in
// order of first use, and the network changes.
func splitHash(changes []firewall.Change, bits map[string]int, restore bool) ([]*hostOps, []firewall.Change) {
	var ops []*hostOps
	bySet := map[string]*hostOps{}
	last := map[string]map[netip.Addr]firewall.Change{}
	var nets []firewall.Change
	for _, ch := range changes {
		b := bits[ch.Jail]
		if !isHost(ch.Prefix, b) {
			nets = append(nets, ch)
			continue
		}
		v4 := ch.Prefix.Addr().Is4()
		name := firewall.SetName(ch.Jail, v4)
		if _, ok := bySet[name]; !ok {
			o := &hostOps{set: hostSet(ourTable(), ch.Jail, v4, b)}
			bySet[name], last[name] = o, map[netip.Addr]firewall.Change{}
			ops = append(ops, o)
		}
		last[name][ch.Prefix.Addr()] = ch
	}
	for _, o := range ops {
		keys := make([]netip.Addr, 0, len(last[o.set.Name]))
		for a := range last[o.set.Name] {
			keys = append(keys, a)
		}
		slices.SortFunc(keys, netip.Addr.Compare)
		for _, a := range keys {
			ch := last[o.set.Name][a]
			el := nftables.SetElement{Key: a.AsSlice(), Timeout: ch.Timeout}
			switch {
			case restore:
				o.add = append(o.add, el)
			case ch.Add:
				o.ensure, o.del, o.add = append(o.ensure, el), append(o.del, nftables.SetElement{Key: el.Key}), append(o.add, el)
			default:
				el.Timeout = firewall.ExpiryMargin
				o.ensure, o.del = append(o.ensure, el), append(o.del, nftables.SetElement{Key: el.Key})
			}
		}
	}
	return ops, nets
}

// sendHash sends changes as one transaction in the hash layout: host keys
// straight to their hash sets, the rest planned on the interval sets as the
// kernel lists them. restore only adds host keys, leaving an element that
// is there as it is (older kernels keep its own timeout).
func (n *nft) sendHash(c *nftables.Conn, changes []firewall.Change, restore bool) error {
	bits, err := n.bitsOf(c, changes)
	if err != nil {
		return err
	}
	ops, nets := splitHash(changes, bits, restore)
	var plans []firewall.SetPlan
	if len(nets) > 0 {
		sets, err := readSets(c)
		if err != nil {
			return err
		}
		// PlanApply names sets as <jail>_v4/_v6; the interval sets are
		// the same jail and family.
		plans, err = firewall.PlanApply(nets, func(set string, _ []firewall.Change) ([]firewall.Span, error) {
			jail, v4, _ := firewall.JailOfSet(set)
			s, ok := sets[netSetName(jail, v4)]
			if !ok {
				return nil, fmt.Errorf("set %s: %w", netSetName(jail, v4), firewall.ErrUnknownJail)
			}
			return readSpans(c, s, v4)
		}, n.log)
		if err != nil {
			return err
		}
	}
	netOf := func(p firewall.SetPlan) *nftables.Set {
		jail, _, _ := firewall.JailOfSet(p.Set)
		return netSet(ourTable(), jail, p.V4)
	}
	for _, o := range ops {
		if err := queue(c.SetAddElements, o.set, o.ensure); err != nil {
			return err
		}
	}
	for _, o := range ops {
		if err := queue(c.SetDeleteElements, o.set, o.del); err != nil {
			return err
		}
	}
	for _, p := range plans {
		if err := queue(c.SetDeleteElements, netOf(p), deleteElements(p.Del)); err != nil {
			return err
		}
	}
	for _, o := range ops {
		if err := queue(c.SetAddElements, o.set, o.add); err != nil {
			return err
		}
	}
	for _, p := range plans {
		if err := queue(c.SetAddElements, netOf(p), addElements(p.Adds())); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: apply %d changes: %w", len(changes), err)
	}
	return nil
}

// applyHash retries once on a fresh listing when an interval set changed
// under the plan (an element expired before the deletion).
func (n *nft) applyHash(changes []firewall.Change, restore bool) error {
	for try := 1; ; try++ {
		err := n.withConn(func(c *nftables.Conn) error { return n.sendHash(c, changes, restore) })
		if err == nil || try == applyTries || !stale(err) {
			return err
		}
		n.log.Debug("retrying apply on the sets as the kernel lists them", "err", err)
	}
}

// listHash reads every set of the table. Each hash element is whole in
// itself, so a listing that a transaction interleaves with shows each ban
// either before or after it, as any listing taken a moment earlier or later.
func (n *nft) listHash(c *nftables.Conn) ([]firewall.Element, error) {
	sets, err := readSets(c)
	if err != nil {
		return nil, err
	}
	masks, err := ruleBits(c)
	if err != nil {
		return nil, err
	}
	var out []firewall.Element
	for name, s := range sets {
		if j, v4, ok := firewall.JailOfSet(name); ok && !s.Interval {
			bits := 32
			if !v4 {
				if bits, ok = masks[name]; !ok {
					bits = 128
				}
			}
			els, err := c.GetSetElements(s)
			if err != nil {
				return nil, fmt.Errorf("nftables: read set %s: %w", name, err)
			}
			for _, e := range els {
				a, ok := netip.AddrFromSlice(e.Key)
				if !ok || a.Is4() != v4 {
					continue
				}
				out = append(out, firewall.Element{Jail: j, Prefix: netip.PrefixFrom(a, bits).Masked(), Remaining: e.Expires})
			}
			continue
		}
		jail, v4, ok := netJailOf(name)
		if !ok || !s.Interval {
			continue
		}
		spans, err := readSpans(c, s, v4)
		if err != nil {
			return nil, err
		}
		out = append(out, firewall.ElementsOf(firewall.SetName(jail, v4), spans, n.log)...)
	}
	firewall.SortElements(out)
	return out, nil
}

// netJailOf returns the jail an interval set belongs to and its family.
func netJailOf(set string) (jail string, v4, ok bool) {
	if j, ok := strings.CutSuffix(set, suffixNet4); ok {
		return j, true, true
	}
	if j, ok := strings.CutSuffix(set, suffixNet6); ok {
		return j, false, true
	}
	return "", false, false
}

// hashMissing returns the bans the kernel lacks: a host key not in its
// hash set (or with no time left), a network not covered by an element of
// its interval set. Only the sets the bans are in are listed; ok holds the
// sets found intact.
func hashMissing(c *nftables.Conn, jails []firewall.Jail, bans []firewall.Change, ok map[string]*nftables.Set) ([]firewall.Change, error) {
	bits := map[string]int{}
	for _, j := range jails {
		bits[j.Name] = v6Bits(j)
	}
	hosts := map[string]map[netip.Addr]bool{}
	spans := map[string][]firewall.Span{}
	var missing []firewall.Change
	for _, b := range bans {
		v4 := b.Prefix.Addr().Is4()
		host := isHost(b.Prefix, bits[b.Jail])
		name := netSetName(b.Jail, v4)
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
		if len(firewall.VerifyBans([]firewall.Change{b}, func(string) ([]firewall.Span, bool) { return spans[name], true })) > 0 {
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
	els, err := c.GetSetElements(s)
	if err != nil {
		return nil, fmt.Errorf("nftables: read set %s: %w", s.Name, err)
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
