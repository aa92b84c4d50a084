package firewall

import (
	"fmt"
	"log/slog"
	"time"
)

// memory is the in-memory model of table inet peerjail that the dry-run and
// fake backends share. It resolves overlaps with the same planner as the
// nftables backend, so tests see what the kernel would hold. Callers lock.
type memory struct {
	sets map[string][]span // by set name; spans carry their remaining time at
	at   time.Time
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
			if s.timeout > 0 {
				s.remaining -= elapsed
				if s.remaining <= 0 {
					continue
				}
			}
			kept = append(kept, s)
		}
		m.sets[name] = kept
	}
}

func (m *memory) setup(jails []Jail) error {
	if err := validJails(jails); err != nil {
		return err
	}
	sets := make(map[string][]span, 2*len(jails))
	for _, j := range jails {
		for _, v4 := range []bool{true, false} {
			name := setName(j.Name, v4)
			sets[name] = m.sets[name] // a reload keeps the bans of remaining jails
		}
	}
	m.sets = sets
	return nil
}

func (m *memory) apply(changes []Change, now time.Time, log *slog.Logger) error {
	m.advance(now)
	norm, err := normalizeAll(changes)
	if err != nil {
		return err
	}
	plans, err := planApply(norm, func(set string, _ []Change) ([]span, error) {
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
		m.sets[p.set] = p.spans
	}
	return nil
}

func (m *memory) list(now time.Time, log *slog.Logger) []Element {
	m.advance(now)
	var out []Element
	for name, spans := range m.sets {
		out = append(out, elementsOf(name, spans, log)...)
	}
	sortElements(out)
	return out
}

func (m *memory) flush() { m.sets = nil }
