package firewall

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
)

// memory is the in-memory model of table inet peerjail that the dry-run and
// fake backends share. It resolves overlaps with the same Planner as the
// nftables backend, so tests see what the kernel would hold. Callers lock.
type memory struct {
	sets  map[string][]Span // by set name; spans carry their remaining time at; nil: no table
	jails []Jail            // as last set up, for Verify's view of the chain
	at    time.Time
}

// advance ages every element to now and drops the expired ones, as the
// kernel does.
func (m *memory) advance(now time.Time) {
	elapsed := now.Sub(m.at)
	m.at = now
	if elapsed <= 0 {
		return
	}
	for name, spans := range m.sets {
		kept := spans[:0]
		for _, s := range spans {
			if s.Timeout > 0 {
				s.Remaining -= elapsed
				if s.Remaining <= 0 {
					continue
				}
			}
			kept = append(kept, s)
		}
		m.sets[name] = kept
	}
}

func (m *memory) setup(jails []Jail) error {
	if err := CheckJails(jails); err != nil {
		return err
	}
	sets := make(map[string][]Span, 2*len(jails))
	for _, j := range jails {
		for _, v4 := range []bool{true, false} {
			name := SetName(j.Name, v4)
			sets[name] = m.sets[name] // a reload keeps the bans of remaining jails
		}
	}
	m.sets = sets
	m.jails = cloneJails(jails)
	return nil
}

func (m *memory) apply(changes []Change, now time.Time, log *slog.Logger) error {
	m.advance(now)
	norm, err := Normalize(changes)
	if err != nil {
		return err
	}
	plans, err := PlanApply(norm, func(set string, _ []Change) ([]Span, error) {
		spans, ok := m.sets[set]
		if !ok {
			return nil, fmt.Errorf("set %s: %w", set, ErrUnknownJail)
		}
		return spans, nil
	}, log)
	if err != nil {
		return err
	}
	for _, p := range plans {
		m.sets[p.Set] = p.Spans
	}
	return nil
}

func (m *memory) list(now time.Time, log *slog.Logger) []Element {
	m.advance(now)
	var out []Element
	for name, spans := range m.sets {
		out = append(out, ElementsOf(name, spans, log)...)
	}
	SortElements(out)
	return out
}

func (m *memory) flush() { m.sets, m.jails = nil, nil }

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
	if m.sets == nil {
		d.Table = true
		d.Missing = norm
		return d, nil
	}
	d.Chain = !sameJails(m.jails, jails)
	for _, name := range WantSets(jails) {
		if _, ok := m.sets[name]; !ok {
			d.Sets = append(d.Sets, name)
		}
	}
	d.Missing = VerifyBans(norm, func(set string) ([]Span, bool) {
		s, ok := m.sets[set]
		return s, ok
	})
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
		if !ok || o.Protocol != j.Protocol || o.IPv6Prefix != j.IPv6Prefix || !slices.Equal(o.Ports, j.Ports) {
			return false
		}
	}
	return true
}

// deleteSet removes one set, as `nft delete set` would.
func (m *memory) deleteSet(name string) { delete(m.sets, name) }

// deleteElement removes the element exactly p from a set, as
// `nft delete element` would; false if it is not there.
func (m *memory) deleteElement(set string, p netip.Prefix) bool {
	spans := m.sets[set]
	s := SpanOf(p)
	for i := range spans {
		if spans[i].Same(s) {
			m.sets[set] = slices.Delete(spans, i, i+1)
			return true
		}
	}
	return false
}
