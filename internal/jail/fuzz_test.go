package jail

import (
	"fmt"
	"testing"
	"time"
)

// fuzzHosts is a small set so that random operations collide: two IPv4 (one
// also written mapped), two IPv6 sharing a /64, identities, an ignored address.
var fuzzHosts = []string{
	"192.0.2.1", "192.0.2.2", "::ffff:192.0.2.1", "2001:db8::1", "2001:db8::2",
	"peer-a", "peer-b", "10.0.0.1",
}

// bytesIn hands out fuzz input one byte at a time, zeros once it runs out.
type bytesIn []byte

func (b *bytesIn) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

func FuzzJail(f *testing.F) {
	f.Add([]byte{2, 1, 4, 0, 1, 0, 0, 3, 1, 0, 0, 5, 1, 0, 1, 2, 1, 3, 9, 2, 9})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 5, 1, 0, 3, 0, 0, 1, 2, 0, 2, 3, 1, 4, 1, 2, 255})
	f.Add([]byte{4, 3, 9, 2, 2, 1, 7, 2, 4, 3, 1, 6, 9, 3, 0, 2, 15, 3, 1, 0, 4, 2, 5, 3, 9, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytesIn(data)
		cfg := Policy{
			Name:       "fuzz",
			MaxRetry:   1 + in.next()%5,
			MaxHosts:   1 + in.next()%4,
			FindTime:   time.Duration(1+in.next()%10) * time.Second,
			BanTime:    time.Duration(1+in.next()%20) * time.Second,
			IPv6Prefix: []int{64, 128, 48}[in.next()%3],
			IgnoreIP:   mustPrefixes(t, "10.0.0.0/8"),
		}
		cfg.Increment = []Increment{{}, {Factor: 2}, {Factor: 1.5, MaxTime: 30 * time.Second}}[in.next()%3]
		j := mustNew(t, cfg)
		m := fuzzModel{t: t, j: j, banned: map[Key]bool{}}
		now := t0
		for len(in) > 0 {
			op, host := in.next()%6, hostOf(fuzzHosts[in.next()%len(fuzzHosts)])
			k, _ := j.KeyFor(host)
			switch op {
			case 0, 1:
				now = now.Add(time.Duration(in.next()%16-3) * time.Second)
				h := hit(host.String(), in.next()%5-1)
				d, v := j.Add(h, now, fmt.Appendf(nil, "fail from %s", host))
				m.added(k, d, v)
			case 2:
				m.expired(now.Add(time.Duration(in.next()%20) * time.Second))
			case 3:
				m.banned[k] = true
				m.checkBan(j.Ban(k, now, time.Duration(in.next()%4)*time.Second))
			case 4:
				_, ok := j.Unban(k, now)
				if ok != m.banned[k] {
					t.Fatalf("Unban(%s) = %v, model says banned %v", k, ok, m.banned[k])
				}
				delete(m.banned, k)
			case 5:
				m.banned[k] = true
				j.Restore(Ban{Key: k, At: now, Until: now.Add(time.Duration(in.next()%10) * time.Second), Offences: in.next() % 3})
			}
			m.checkState()
		}
	})
}

// fuzzModel tracks which keys are banned, independently of the jail.
type fuzzModel struct {
	t      *testing.T
	j      *Counter
	banned map[Key]bool
}

func (m *fuzzModel) added(k Key, d Decision, v Verdict) {
	switch v {
	case Banned:
		if m.banned[k] {
			m.t.Fatalf("%s banned again before its unban", k)
		}
		if d.Key != k || d.Hits < m.j.cfg.MaxRetry || len(d.Evidence) > maxEvidence || len(d.Evidence) == 0 {
			m.t.Fatalf("ban of %s: %+v", k, d)
		}
		m.banned[k] = true
		m.checkBan(d)
	case AlreadyBanned:
		if !m.banned[k] {
			m.t.Fatalf("hit on %s: AlreadyBanned, but it is not banned", k)
		}
	case Counted:
		if m.banned[k] {
			m.t.Fatalf("hit on banned %s was counted", k)
		}
	}
}

func (m *fuzzModel) checkBan(d Decision) {
	if d.Action != ActionBan || d.Duration <= 0 || !d.Until.Equal(d.At.Add(d.Duration)) || d.Offences < 1 {
		m.t.Fatalf("bad ban decision %+v", d)
	}
}

func (m *fuzzModel) expired(now time.Time) {
	var last time.Time
	for i, d := range m.j.Expire(now) {
		if d.Action != ActionUnban || d.At.After(now) || (i > 0 && d.At.Before(last)) || !m.banned[d.Key] {
			m.t.Fatalf("Expire(%v) #%d: %+v after %v", now, i, d, last)
		}
		last = d.At
		delete(m.banned, d.Key)
	}
	if next, ok := m.j.NextExpiry(); ok && !next.After(now) {
		m.t.Fatalf("after Expire(%v) a ban ending %v is left", now, next)
	}
}

func (m *fuzzModel) checkState() {
	st := m.j.Stats(t0)
	if st.Tracked > m.j.cfg.MaxHosts || st.Banned != len(m.banned) {
		m.t.Fatalf("Stats %+v: MaxHosts %d, model has %d banned", st, m.j.cfg.MaxHosts, len(m.banned))
	}
	bans := m.j.Bans()
	for i, b := range bans {
		if !m.banned[b.Key] || (i > 0 && b.Until.Before(bans[i-1].Until)) {
			m.t.Fatalf("Bans() = %+v, model %v", bans, m.banned)
		}
	}
}
