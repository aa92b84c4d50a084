//go:build linux

package nftables

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/google/nftables"

	"github.com/peerjail/peerjail/internal/firewall"
)

// jailsOf returns the jails the changes name, as the last Setup knew them
// or else as the rules in the kernel key their IPv6 hosts.
func (n *nft) jailsOf(c *nftables.Conn, changes []firewall.Change) (map[string]firewall.Jail, error) {
	out := map[string]firewall.Jail{}
	var kernel map[string]int
	for _, ch := range changes {
		if _, ok := out[ch.Jail]; ok {
			continue
		}
		if j, ok := n.jails[ch.Jail]; ok {
			out[ch.Jail] = j
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
		out[ch.Jail] = firewall.Jail{Name: ch.Jail, IPv6Prefix: bits}
		// Remembered for the next calls; a new map, since List reads the
		// old one without the lock.
		learned := maps.Clone(n.jails)
		if learned == nil {
			learned = map[string]firewall.Jail{}
		}
		learned[ch.Jail] = out[ch.Jail]
		n.jails = learned
	}
	return out, nil
}

// hostOps are the elements one transaction sends to a host set. A ban is
// one addition: the kernel replaces the timeout of an element added again
// (older kernels keep its own, as with Restore). An unban is a deletion, and
// since deleting a missing element fails the whole transaction, ensure adds
// the key first. Deletions are the dear part: each transaction that removes
// elements from a hash set waits for a grace period (milliseconds), so a ban
// never deletes.
type hostOps struct {
	set              *nftables.Set
	ensure, del, add []nftables.SetElement
}

// hostChanges sorts normalized changes into operations per host set, in
// order of first use, and returns the network changes apart. The last
// change of a key decides.
func hostChanges(changes []firewall.Change, jails map[string]firewall.Jail) ([]*hostOps, []firewall.Change) {
	var ops []*hostOps
	last := map[string]map[netip.Addr]firewall.Change{}
	var nets []firewall.Change
	for _, ch := range changes {
		j := jails[ch.Jail]
		if !j.IsHost(ch.Prefix) {
			nets = append(nets, ch)
			continue
		}
		v4 := ch.Prefix.Addr().Is4()
		name := firewall.SetName(ch.Jail, v4)
		if _, ok := last[name]; !ok {
			last[name] = map[netip.Addr]firewall.Change{}
			ops = append(ops, &hostOps{set: hostSet(ourTable(), ch.Jail, v4, j.HostBits())})
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
			if ch.Add {
				o.add = append(o.add, el)
				continue
			}
			el.Timeout = firewall.ExpiryMargin
			o.ensure, o.del = append(o.ensure, el), append(o.del, nftables.SetElement{Key: el.Key})
		}
	}
	return ops, nets
}

// apply retries on a fresh listing when a network set changed under the
// plan (an element expired before the deletion, or someone else changed it).
func (n *nft) apply(changes []firewall.Change) error {
	for try := 1; ; try++ {
		err := n.withConn(func(c *nftables.Conn) error { return n.send(c, changes) })
		if err == nil || try == applyTries || !stale(err) {
			return err
		}
		// Someone may have deleted the table or a set: that is no stale
		// plan but a jail the kernel no longer has.
		if err := n.withConn(func(c *nftables.Conn) error { return n.setsExist(c, changes) }); err != nil {
			return err
		}
		n.log.Debug("retrying apply on the sets as the kernel lists them", "err", err)
	}
}

// setsExist fails with ErrUnknownJail when a set the changes go to is gone.
func (n *nft) setsExist(c *nftables.Conn, changes []firewall.Change) error {
	sets, err := readSets(c)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		v4 := ch.Prefix.Addr().Is4()
		name := firewall.NetSetName(ch.Jail, v4)
		if n.jails[ch.Jail].IsHost(ch.Prefix) {
			name = firewall.SetName(ch.Jail, v4)
		}
		if _, ok := sets[name]; !ok {
			return fmt.Errorf("set %s: %w", name, firewall.ErrUnknownJail)
		}
	}
	return nil
}

// send sends changes as one transaction: host keys straight to their hash
// sets, networks planned on their interval sets as the kernel lists them
// (they are read only when a change is a network, and hold few elements).
func (n *nft) send(c *nftables.Conn, changes []firewall.Change) error {
	jails, err := n.jailsOf(c, changes)
	if err != nil {
		return err
	}
	ops, nets := hostChanges(changes, jails)
	var plans []firewall.SetPlan
	if len(nets) > 0 {
		sets, err := readSets(c)
		if err != nil {
			return err
		}
		plans, err = firewall.PlanApply(nets, func(name string, _ []firewall.Change) ([]firewall.Span, error) {
			s, ok := sets[name]
			if !ok {
				return nil, fmt.Errorf("set %s: %w", name, firewall.ErrUnknownJail)
			}
			_, v4, _, _ := firewall.JailOfSet(name)
			return readSpans(c, s, v4)
		}, n.log)
		if err != nil {
			return err
		}
	}
	netOf := func(p firewall.SetPlan) *nftables.Set {
		jail, _, _, _ := firewall.JailOfSet(p.Set)
		return netSet(ourTable(), jail, p.V4)
	}
	// All deletions before all additions: a network replaced by a wider
	// one must be gone before the wider one goes in.
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

// list reads every set of the table: host keys at the length their jail
// (as set up, else as the rules mask them) keys them, networks as spans.
func (n *nft) list(c *nftables.Conn, jails map[string]firewall.Jail) ([]firewall.Element, error) {
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
		jail, v4, host, ok := firewall.JailOfSet(name)
		switch {
		case !ok || host == s.Interval:
			continue
		case !host:
			spans, err := readSpans(c, s, v4)
			if err != nil {
				return nil, err
			}
			out = append(out, firewall.ElementsOf(jail, spans, n.log)...)
			continue
		}
		bits := 32
		if j, set := jails[jail]; set && !v4 {
			bits = j.HostBits()
		} else if !v4 {
			if bits, ok = masks[name]; !ok {
				bits = 128
			}
		}
		els, err := hostElements(c, s)
		if err != nil {
			return nil, err
		}
		for _, e := range els {
			if a, ok := netip.AddrFromSlice(e.Key); ok && a.Is4() == v4 {
				out = append(out, firewall.Element{Jail: jail, Prefix: netip.PrefixFrom(a, bits).Masked(), Remaining: e.Expires})
			}
		}
	}
	firewall.SortElements(out)
	return out, nil
}
