package firewall

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
)

// memory is the in-memory model of table inet peerjail that the dry-run and
// fake backends share: host keys by address, networks as spans resolved by
// the same planner as the nftables backend's network sets, so that tests see
// what the kernel would hold. Callers lock.
type memory struct {
	hosts map[string]map[netip.Addr]hostKey // by host set name; nil: no table
	nets  map[string][]Span                 // by network set name
	jails []Jail                            // as last set up
	at    time.Time                         // when the remaining times were true
}

// hostKey is one element of a host set.
type hostKey struct{ timeout, remaining time.Duration }

// advance ages every element to now and drops the expired ones, as the
// kernel does.
func (m *memory) advance(now time.Time) {
	elapsed := now.Sub(m.at)
	m.at = now
	if elapsed <= 0 {
		return
	}
	for _, keys := range m.hosts {
		for a, k := range keys {
			if k.remaining -= elapsed; k.remaining <= 0 {
				delete(keys, a)
				continue
			}
			keys[a] = k
		}
	}
	for name, spans := range m.nets {
		kept := spans[:0]
		for _, s := range spans {
			if s.Timeout > 0 {
				if s.Remaining -= elapsed; s.Remaining <= 0 {
					continue
				}
			}
			kept = append(kept, s)
		}
		m.nets[name] = kept
	}
}

func (m *memory) setup(jails []Jail) error {
	if err := CheckJails(jails); err != nil {
		return err
	}
	hosts := make(map[string]map[netip.Addr]hostKey, 2*len(jails))
	nets := make(map[string][]Span, 2*len(jails))
	for _, j := range jails {
		for _, v4 := range []bool{true, false} {
			// A reload keeps the bans of remaining jails, unless the
			// IPv6 keys were made at another length: the kernel's set is
			// replaced then.
			name := SetName(j.Name, v4)
			keys := m.hosts[name]
			if old, ok := m.jail(j.Name); !ok || keys == nil || !v4 && old.HostBits() != j.HostBits() {
				keys = map[netip.Addr]hostKey{}
			}
			hosts[name] = keys
			nets[NetSetName(j.Name, v4)] = m.nets[NetSetName(j.Name, v4)]
		}
	}
	m.hosts, m.nets = hosts, nets
	m.jails = cloneJails(jails)
	return nil
}

// jail returns the jail of the last setup by name.
func (m *memory) jail(name string) (Jail, bool) {
	i := slices.IndexFunc(m.jails, func(j Jail) bool { return j.Name == name })
	if i < 0 {
		return Jail{}, false
	}
	return m.jails[i], true
}

func (m *memory) apply(changes []Change, now time.Time, log *slog.Logger) error {
	m.advance(now)
	norm, err := Normalize(changes)
	if err != nil {
		return err
	}
	var nets []Change
	for _, c := range norm {
		j, ok := m.jail(c.Jail)
		if !ok || m.hosts == nil {
			return fmt.Errorf("jail %q: %w", c.Jail, ErrUnknownJail)
		}
		if !j.IsHost(c.Prefix) {
			nets = append(nets, c)
		}
	}
	plans, err := PlanApply(nets, func(set string, _ []Change) ([]Span, error) { return m.nets[set], nil }, log)
	if err != nil {
		return err
	}
	for _, c := range norm {
		if j, _ := m.jail(c.Jail); j.IsHost(c.Prefix) {
			keys := m.hosts[SetName(c.Jail, c.Prefix.Addr().Is4())]
			if c.Add {
				keys[c.Prefix.Addr()] = hostKey{c.Timeout, c.Timeout}
			} else {
				delete(keys, c.Prefix.Addr())
			}
		}
	}
	for _, p := range plans {
		m.nets[p.Set] = p.Spans
	}
	return nil
}

func (m *memory) list(now time.Time, log *slog.Logger) []Element {
	m.advance(now)
	var out []Element
	for _, j := range m.jails {
		for _, v4 := range []bool{true, false} {
			bits := 32
			if !v4 {
				bits = j.HostBits()
			}
			for a, k := range m.hosts[SetName(j.Name, v4)] {
				out = append(out, Element{Jail: j.Name, Prefix: netip.PrefixFrom(a, bits), Remaining: k.remaining})
			}
			out = append(out, ElementsOf(j.Name, m.nets[NetSetName(j.Name, v4)], log)...)
		}
	}
	SortElements(out)
	return out
}

func (m *memory) flush() { m.hosts, m.nets, m.jails = nil, nil, nil }

// verify is Verify on the model: its "chain" differs when the jails of the
// last setup are not the ones asked for.
func (m *memory) verify(jails []Jail, bans []Change, now time.Time) (Drift, error) {
	if err := CheckJails(jails); err != nil {
		return Drift{}, err
	}
	norm, err := RestoreOrder(bans)
	if err != nil {
		return Drift{}, err
	}
	m.advance(now)
	var d Drift
	if m.hosts == nil {
		d.Table = true
		d.Missing = norm
		return d, nil
	}
	d.Chain = !sameJails(m.jails, jails)
	for _, name := range WantSets(jails) {
		_, host := m.hosts[name]
		_, net := m.nets[name]
		if !host && !net {
			d.Sets = append(d.Sets, name)
		}
	}
	want := map[string]Jail{}
	for _, j := range jails {
		want[j.Name] = j
	}
	for _, b := range norm {
		v4 := b.Prefix.Addr().Is4()
		if j := want[b.Jail]; j.IsHost(b.Prefix) {
			if keys, ok := m.hosts[SetName(b.Jail, v4)]; !ok || keys[b.Prefix.Addr()].remaining <= 0 {
				d.Missing = append(d.Missing, b)
			}
		} else if !Covered(m.nets[NetSetName(b.Jail, v4)], b.Prefix) {
			d.Missing = append(d.Missing, b)
		}
	}
	return d, nil
}

// sameJails compares jails regardless of their order.
func sameJails(a, b []Jail) bool {
	if len(a) != len(b) {
		return false
	}
	byName := make(map[string]Jail, len(a))
	for _, j := range a {
		byName[j.Name] = j
	}
	for _, j := range b {
		o, ok := byName[j.Name]
		if !ok || o.Protocol != j.Protocol || o.HostBits() != j.HostBits() || !slices.Equal(o.Ports, j.Ports) {
			return false
		}
	}
	return true
}

// deleteSet removes one set, as `nft delete set` would.
func (m *memory) deleteSet(name string) {
	delete(m.hosts, name)
	delete(m.nets, name)
}

// deleteElement removes the element exactly p from a jail's sets, as
// `nft delete element` would; false if it is not there.
func (m *memory) deleteElement(jail string, p netip.Prefix) bool {
	j, ok := m.jail(jail)
	if !ok {
		return false
	}
	v4 := p.Addr().Is4()
	if j.IsHost(p) {
		keys := m.hosts[SetName(jail, v4)]
		_, ok := keys[p.Addr()]
		delete(keys, p.Addr())
		return ok
	}
	name := NetSetName(jail, v4)
	spans := m.nets[name]
	s := SpanOf(p)
	for i := range spans {
		if spans[i].Same(s) {
			m.nets[name] = slices.Delete(spans, i, i+1)
			return true
		}
	}
	return false
}
