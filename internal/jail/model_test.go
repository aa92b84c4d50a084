package jail

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// refWindow is the plain form of a host's window the compact table must match.
type refWindow struct {
	times []int64
	lines []string
	tick  int64  // of the newest hit
	seq   uint64 // when the host entered that tick: eviction order within it
}

// refJail counts like Jail does, with a map of slices and a linear search
// for the host to evict: the differential fuzz target checks the host table,
// its order, Stats, Failing, Prune and Pending against it.
type refJail struct {
	cfg     Policy
	keep    int
	hosts   map[Key]*refWindow
	banned  map[Key]bool
	tickOf  func(int64) int64
	seq     uint64
	evicted int64
}

// later reports whether a host holds a hit after now.
func later(hosts map[Key]*refWindow, now int64) bool {
	for _, w := range hosts {
		if len(w.times) > 0 && w.times[len(w.times)-1] > now {
			return true
		}
	}
	return false
}

func (r *refJail) add(k Key, t int64, weight int, line string) (Verdict, int, []string) {
	if r.banned[k] {
		return AlreadyBanned, 0, nil
	}
	w := r.hosts[k]
	if w == nil {
		if len(r.hosts) >= r.cfg.MaxHosts {
			r.evict()
		}
		w = &refWindow{}
		r.hosts[k] = w
	}
	ref := t
	if len(w.times) > 0 {
		ref = max(ref, w.times[len(w.times)-1])
	}
	lo := subSat(ref, r.cfg.FindTime)
	w.times = slices.DeleteFunc(w.times, func(x int64) bool { return x <= lo })
	hits := len(w.times)
	if t > lo {
		hits += weight
	}
	if hits > r.cfg.MaxRetry-r.keep {
		w.lines = append(w.lines, line)
		if len(w.lines) > r.keep {
			w.lines = w.lines[1:]
		}
	}
	if t > lo && hits >= r.cfg.MaxRetry {
		delete(r.hosts, k)
		r.banned[k] = true
		return Banned, hits, w.lines
	}
	if t > lo {
		for range weight {
			w.times = append(w.times, t)
		}
		slices.Sort(w.times)
		if b := r.tickOf(w.times[len(w.times)-1]); b != w.tick || w.seq == 0 {
			r.seq++
			w.tick, w.seq = b, r.seq
		}
	}
	return Counted, hits, nil
}

// evict drops the host whose newest hit's tick is oldest, the first to enter
// it among equals.
func (r *refJail) evict() {
	var victim Key
	var vw *refWindow
	for k, w := range r.hosts {
		if vw == nil || w.tick < vw.tick || w.tick == vw.tick && w.seq < vw.seq {
			victim, vw = k, w
		}
	}
	delete(r.hosts, victim)
	r.evicted++
}

func (r *refJail) failing(lo, hi int64) map[string]int {
	out := map[string]int{}
	for k, w := range r.hosts {
		n := 0
		for _, t := range w.times {
			if t > lo && t <= hi {
				n++
			}
		}
		if n > 0 {
			out[k.String()] = n
		}
	}
	return out
}

func FuzzJailModel(f *testing.F) {
	f.Add([]byte{3, 2, 0, 1, 100, 7, 0, 1, 90, 3, 2, 3, 110, 1, 4, 200, 9})
	f.Add([]byte{1, 4, 0, 2, 40, 200, 0, 3, 20, 100, 1, 2, 5, 0, 0, 3, 77, 5, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytesIn(data)
		cfg := Policy{
			Name:       "model",
			MaxRetry:   2 + in.next()%13,
			FindTime:   time.Duration(1+in.next()%5) * 4096 * time.Microsecond,
			BanTime:    time.Hour,
			IPv6Prefix: 64,
			MaxHosts:   1 + in.next()%8,
		}
		j := mustNew(t, cfg)
		r := &refJail{cfg: cfg, keep: j.keep, hosts: map[Key]*refWindow{}, banned: map[Key]bool{}, tickOf: j.hosts.tickOf}
		hosts := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1", "2001:db8:1::1", "peer-a", "peer-b"}
		now := toNanos(t0)
		step := int64(cfg.FindTime) / 64
		for n := 0; len(in) > 0; n++ {
			now += int64(in.next()-96)*step + int64(in.next()%3-1)
			host := hostOf(hosts[in.next()%len(hosts)])
			k, _ := j.KeyFor(host)
			switch op := in.next() % 8; op {
			case 0, 1, 2, 3:
				weight := 1 + in.next()%3
				line := fmt.Sprintf("line %d", n)
				d, v := j.Add(hit(host.String(), weight), fromNanos(now), []byte(line))
				rv, rh, rl := r.add(k, now, min(weight, cfg.MaxRetry), line)
				if v != rv || (v == Banned && (d.Hits != rh || !slices.Equal(d.Evidence, rl))) {
					t.Fatalf("hit %d on %s at %d: %v %d %q, model %v %d %q", n, k, now, v, d.Hits, d.Evidence, rv, rh, rl)
				}
			case 4:
				j.Unban(k, fromNanos(now))
				delete(r.banned, k)
			case 5:
				lo := subSat(now, cfg.FindTime)
				dropped := 0
				for k, w := range r.hosts {
					if len(w.times) == 0 || w.times[len(w.times)-1] <= lo {
						delete(r.hosts, k)
						if len(w.times) > 0 {
							dropped++
						}
					}
				}
				if got := j.Prune(fromNanos(now)); got != dropped {
					t.Fatalf("Prune at %d dropped %d, model %d", now, got, dropped)
				}
			case 6:
				lo := subSat(now, cfg.FindTime)
				want := r.failing(lo, now)
				got := map[string]int{}
				for _, o := range j.Failing(fromNanos(now), 0) {
					got[o.Key.String()] = o.Hits
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("Failing at %d = %v, model %v", now, got, want)
				}
				if st := j.Stats(fromNanos(now)); st.Failing != len(want) {
					t.Fatalf("Stats at %d: failing %d, model %d (%v)", now, st.Failing, len(want), want)
				}
			case 7:
				lo := subSat(now, cfg.FindTime)
				want := map[string][]int64{}
				for k, w := range r.hosts {
					for _, x := range w.times {
						if x > lo && x <= now {
							want[k.String()] = append(want[k.String()], x)
						}
					}
				}
				got := map[string][]int64{}
				for _, p := range j.Pending(fromNanos(now)) {
					for _, h := range p.Hits {
						got[p.Key.String()] = append(got[p.Key.String()], toNanos(h))
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("Pending at %d = %v, model %v", now, got, want)
				}
				j2 := mustNew(t, cfg)
				j2.RestorePending(j.Pending(fromNanos(now)), fromNanos(now))
				// The order is by each host's newest hit; a hit after now
				// is not saved, so a host that has one may come back in
				// another place: then only the hits must match.
				restored, saved := j2.Pending(fromNanos(now)), j.Pending(fromNanos(now))
				if later(r.hosts, now) {
					byKey := func(a, b Pending) int { return strings.Compare(a.Key.String(), b.Key.String()) }
					slices.SortFunc(restored, byKey)
					slices.SortFunc(saved, byKey)
				}
				if a, b := fmt.Sprint(restored), fmt.Sprint(saved); a != b {
					t.Fatalf("Pending at %d restored: %s, saved %s", now, a, b)
				}
			}
			tracked := 0
			for _, w := range r.hosts {
				if len(w.times) > 0 {
					tracked++
				}
			}
			if st := j.Stats(fromNanos(now)); st.Tracked != tracked || st.Evicted != r.evicted {
				t.Fatalf("tracked %d, evicted %d; model %d, %d", st.Tracked, st.Evicted, tracked, r.evicted)
			}
		}
	})
}
