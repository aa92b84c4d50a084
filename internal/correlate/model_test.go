package correlate

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// model is the Table's behaviour written plainly: entries at positions in
// a slice, found by name in a Go map, removed ones reused last-freed first,
// a CLOCK hand and a sweeper walking the positions. It knows no hashes, so
// a Table whose names collide must still agree with it.
type model struct {
	cfg              Config
	pos              map[string]int
	entries          []*modelEntry // by position; nil: free
	free             []int
	hand, sweeper    int
	evicted          int64
	ttl              int64
	maxAddrs, maxIDs int
}

type modelEntry struct {
	id    string
	ref   bool
	addrs []seen // in the order of their slots
}

func newModel(c Config) *model {
	c = c.WithDefaults()
	return &model{cfg: c, pos: map[string]int{}, ttl: int64(c.TTL), maxAddrs: c.MaxAddrs, maxIDs: c.Max}
}

func (m *model) expired(e *modelEntry, now int64) bool {
	for _, s := range e.addrs {
		if now-s.at < m.ttl {
			return false
		}
	}
	return true
}

func (m *model) remove(p int) {
	delete(m.pos, m.entries[p].id)
	m.entries[p] = nil
	m.free = append(m.free, p)
}

func (m *model) learn(id string, a netip.Addr, at time.Time) bool {
	if id == "" || len(id) > maxIDLen || !a.IsValid() {
		return false
	}
	now, key := at.UnixNano(), a.WithZone("").As16()
	p, ok := m.pos[id]
	if ok {
		m.entries[p].ref = true
	} else {
		p = m.insert(id, now)
	}
	e := m.entries[p]
	oldest := 0
	for k := range e.addrs {
		if s := &e.addrs[k]; s.addr == key {
			fresh := now-s.at < m.ttl
			s.at = max(s.at, now)
			return !fresh
		}
		if e.addrs[k].at < e.addrs[oldest].at {
			oldest = k
		}
	}
	if len(e.addrs) >= m.maxAddrs {
		e.addrs[oldest] = seen{addr: key, at: now}
	} else {
		e.addrs = append(e.addrs, seen{addr: key, at: now})
	}
	return true
}

func (m *model) insert(id string, now int64) int {
	for range min(sweepSteps, len(m.entries)) {
		if m.sweeper >= len(m.entries) {
			m.sweeper = 0
		}
		if e := m.entries[m.sweeper]; e != nil && m.expired(e, now) {
			m.remove(m.sweeper)
		}
		m.sweeper++
	}
	var p int
	switch {
	case len(m.free) > 0:
		p = m.free[len(m.free)-1]
		m.free = m.free[:len(m.free)-1]
	case len(m.entries) < m.maxIDs:
		p = len(m.entries)
		m.entries = append(m.entries, nil)
	default:
		for {
			p = m.hand
			if m.hand++; m.hand >= len(m.entries) {
				m.hand = 0
			}
			if e := m.entries[p]; !e.ref || m.expired(e, now) {
				break
			}
			m.entries[p].ref = false
		}
		m.remove(p)
		m.free = m.free[:len(m.free)-1]
		m.evicted++
	}
	m.entries[p] = &modelEntry{id: id}
	m.pos[id] = p
	return p
}

func (m *model) addrs(id string, at time.Time) []netip.Addr {
	p, ok := m.pos[id]
	if !ok {
		return nil
	}
	now := at.UnixNano()
	var live []seen
	for _, s := range m.entries[p].addrs {
		if now-s.at < m.ttl {
			live = append(live, s)
		}
	}
	slices.SortStableFunc(live, func(a, b seen) int { return cmp.Compare(b.at, a.at) })
	var out []netip.Addr
	for _, s := range live {
		out = append(out, netip.AddrFrom16(s.addr).Unmap())
	}
	return out
}

// modelNames are the names ops pick from: short, peer-ID-like, exactly
// inline, longer than inline (kept aside), too long to learn.
func modelNames(n int) []string {
	names := make([]string, 0, n+4)
	for i := range n {
		names = append(names, fmt.Sprintf("12D3KooW%044d", i))
	}
	return append(names, "p", fmt.Sprintf("%064d", 1), fmt.Sprintf("%0200d", 2), fmt.Sprintf("%0300d", 3))
}

// compare runs ops decoded from data on a table and the model, checking
// every answer, then every name's addresses and the counts.
func compare(t *testing.T, cfg Config, hashMask uint64, data []byte) {
	t.Helper()
	tb, m := New(cfg), newModel(cfg)
	tb.hashMask = hashMask
	names := modelNames(24)
	now := t0
	for len(data) >= 3 {
		op, name, addr := data[0], names[int(data[1])%len(names)], netip.AddrFrom4([4]byte{198, 51, 100, data[2] % 8})
		data = data[3:]
		now = now.Add(time.Duration(op>>2) * time.Second)
		switch op & 3 {
		case 3:
			got, want := tb.Addrs(nil, name, now), m.addrs(name, now)
			if !slices.Equal(got, want) {
				t.Fatalf("Addrs(%.12s) = %v, model %v", name, got, want)
			}
		default:
			if got, want := tb.Learn(name, addr, now), m.learn(name, addr, now); got != want {
				t.Fatalf("Learn(%.12s, %v) = %v, model %v", name, addr, got, want)
			}
		}
	}
	for _, name := range names {
		if got, want := tb.Addrs(nil, name, now), m.addrs(name, now); !slices.Equal(got, want) {
			t.Fatalf("at the end, Addrs(%.12s) = %v, model %v", name, got, want)
		}
	}
	if tb.Len() != len(m.pos) || tb.Evicted() != m.evicted {
		t.Fatalf("Len %d Evicted %d, model %d and %d", tb.Len(), tb.Evicted(), len(m.pos), m.evicted)
	}
}

// hashMasks are the hashes tests run with: the real one, and ones narrowed
// so that names share home slots, tags and whole hashes.
var hashMasks = []uint64{^uint64(0), 0xc000_0000_0000_0001, 0}

// FuzzTableModel: whatever the learning and lookups, the table answers as
// the model does, with real hashes and with colliding ones.
func FuzzTableModel(f *testing.F) {
	f.Add(uint8(3), uint8(4), []byte{0, 0, 0, 0, 1, 1, 4, 0, 2, 3, 1, 0, 8, 2, 5, 0, 3, 0, 255, 1, 1})
	f.Add(uint8(1), uint8(2), []byte{0, 25, 1, 0, 26, 2, 0, 27, 3, 0, 25, 4, 0, 26, 5, 3, 25, 0, 200, 26, 1})
	f.Fuzz(func(t *testing.T, maxIDs, maxAddrs uint8, data []byte) {
		cfg := Config{Max: int(maxIDs%16) + 1, MaxAddrs: int(maxAddrs%6) + 1, TTL: time.Minute}
		for _, mask := range hashMasks {
			compare(t, cfg, mask, data)
		}
	})
}

// TestTableMatchesModel runs long random sequences, many identities past a
// cap that makes the index grow, evict and expire, against the model.
func TestTableMatchesModel(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		ops  int
		mask uint64
	}{
		{Config{Max: 300, MaxAddrs: 3, TTL: 2 * time.Minute}, 20_000, ^uint64(0)},
		{Config{Max: 300, MaxAddrs: 3, TTL: 2 * time.Minute}, 20_000, 0xff00_0000_0000_00ff},
		{Config{Max: 5000, TTL: time.Hour}, 60_000, ^uint64(0)},
		{Config{Max: 64, MaxAddrs: 1, TTL: 10 * time.Second}, 20_000, 0x8000_0000_0000_0003},
	} {
		t.Run(fmt.Sprintf("max=%d,mask=%x", c.cfg.Max, c.mask), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(c.cfg.Max)))
			tb, m := New(c.cfg), newModel(c.cfg)
			tb.hashMask = c.mask
			names := modelNames(3 * c.cfg.Max)
			now := t0
			for i := range c.ops {
				// Most names from a hot few, the rest from the whole set.
				name := names[rng.IntN(len(names))]
				if rng.IntN(2) == 0 {
					name = names[rng.IntN(c.cfg.Max/4)]
				}
				a := netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(6))})
				now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
				if got, want := tb.Learn(name, a, now), m.learn(name, a, now); got != want {
					t.Fatalf("op %d: Learn(%.12s, %v) = %v, model %v", i, name, a, got, want)
				}
				if i%97 == 0 {
					probe := names[rng.IntN(len(names))]
					if got, want := tb.Addrs(nil, probe, now), m.addrs(probe, now); !slices.Equal(got, want) {
						t.Fatalf("op %d: Addrs(%.12s) = %v, model %v", i, probe, got, want)
					}
				}
			}
			for _, name := range names {
				if got, want := tb.Addrs(nil, name, now), m.addrs(name, now); !slices.Equal(got, want) {
					t.Fatalf("Addrs(%.12s) = %v, model %v", name, got, want)
				}
			}
			if tb.Len() != len(m.pos) || tb.Evicted() != m.evicted || m.evicted == 0 {
				t.Fatalf("Len %d Evicted %d, model %d and %d (want evictions)", tb.Len(), tb.Evicted(), len(m.pos), m.evicted)
			}
		})
	}
}
