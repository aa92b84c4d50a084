package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
)

// escalating bans on every hit, counts IPv6 by /128 and widens to /64 and
// /48 after 3 bans within an hour.
func escalating() Policy {
	return Policy{
		Name: "esc", FindTime: 10 * time.Minute, MaxRetry: 1, BanTime: 24 * time.Hour,
		IPv6Prefix: 128,
		Escalation: Escalation{Steps: []int{64, 48}, After: 3, Within: time.Hour},
	}
}

// escStep is one hit in an escalation test and what it must do.
type escStep struct {
	addr string
	at   time.Duration
	want string // banned key; "" for a hit of a banned host
	from int    // EscalatedFrom
}

// fill64 are the three bans that arm the /64 of prefix (e.g. "2001:db8:1:1"),
// a minute apart from at.
func fill64(prefix string, at time.Duration) []escStep {
	var out []escStep
	for i := 1; i <= 3; i++ {
		a := fmt.Sprintf("%s::%d", prefix, i)
		out = append(out, escStep{a, at + time.Duration(i-1)*time.Minute, a, 0})
	}
	return out
}

func TestEscalation(t *testing.T) {
	const m, h = time.Minute, time.Hour
	cat := func(parts ...[]escStep) []escStep {
		var out []escStep
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name   string
		policy func(*Policy)
		self   []string
		steps  []escStep
	}{
		{
			name: "three bans in one /64 within 1h: the fourth bans the /64",
			steps: cat(fill64("2001:db8:1:1", 0), []escStep{
				{"2001:db8:1:1::4", 30 * m, "2001:db8:1:1::/64", 128},
				{"2001:db8:1:1::5", 31 * m, "", 0}, // inside the banned /64
			}),
		},
		{
			name: "bans spread over 2h: no escalation",
			steps: []escStep{
				{"2001:db8:1:1::1", 0, "2001:db8:1:1::1", 0},
				{"2001:db8:1:1::2", h, "2001:db8:1:1::2", 0},
				{"2001:db8:1:1::3", 2 * h, "2001:db8:1:1::3", 0},
				{"2001:db8:1:1::4", 2*h + 10*m, "2001:db8:1:1::4", 0},
			},
		},
		{
			name:   "the same address banned again is not a distinct ban",
			policy: func(p *Policy) { p.BanTime = time.Minute },
			steps: []escStep{
				{"2001:db8:1:1::1", 0, "2001:db8:1:1::1", 0},
				{"2001:db8:1:1::1", 2 * m, "2001:db8:1:1::1", 0},
				{"2001:db8:1:1::1", 4 * m, "2001:db8:1:1::1", 0},
				{"2001:db8:1:1::2", 6 * m, "2001:db8:1:1::2", 0},
			},
		},
		{
			name: "bans in three /64s arm no /64",
			steps: []escStep{
				{"2001:db8:1:1::1", 0, "2001:db8:1:1::1", 0},
				{"2001:db8:1:2::1", m, "2001:db8:1:2::1", 0},
				{"2001:db8:1:3::1", 2 * m, "2001:db8:1:3::1", 0},
				{"2001:db8:1:3::2", 3 * m, "2001:db8:1:3::2", 0},
			},
		},
		{
			name: "three /64 escalations in one /48: the next ban there bans the /48",
			steps: cat(
				fill64("2001:db8:1:1", 0), []escStep{{"2001:db8:1:1::4", 3 * m, "2001:db8:1:1::/64", 128}},
				fill64("2001:db8:1:2", 4*m), []escStep{{"2001:db8:1:2::4", 7 * m, "2001:db8:1:2::/64", 128}},
				fill64("2001:db8:1:3", 8*m), []escStep{{"2001:db8:1:3::4", 11 * m, "2001:db8:1:3::/64", 128}},
				[]escStep{
					{"2001:db8:1:9::1", 12 * m, "2001:db8:1::/48", 128},
					{"2001:db8:1:a::1", 13 * m, "", 0},
					{"2001:db8:2::1", 14 * m, "2001:db8:2::1", 0}, // another /48
				},
			),
		},
		{
			name:   "ignoreip inside the /64: no escalation",
			policy: func(p *Policy) { p.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("2001:db8:1:1::99/128")} },
			steps:  cat(fill64("2001:db8:1:1", 0), []escStep{{"2001:db8:1:1::4", 30 * m, "2001:db8:1:1::4", 0}}),
		},
		{
			name:  "own address inside the /64: no escalation",
			self:  []string{"2001:db8:1:1::abcd/128"},
			steps: cat(fill64("2001:db8:1:1", 0), []escStep{{"2001:db8:1:1::4", 30 * m, "2001:db8:1:1::4", 0}}),
		},
		{
			name:   "ignoreip in the /48 but not the /64: the /64 is as wide as it goes",
			policy: func(p *Policy) { p.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("2001:db8:1:ff::/64")} },
			steps: cat(
				fill64("2001:db8:1:1", 0), []escStep{{"2001:db8:1:1::4", 3 * m, "2001:db8:1:1::/64", 128}},
				fill64("2001:db8:1:2", 4*m), []escStep{{"2001:db8:1:2::4", 7 * m, "2001:db8:1:2::/64", 128}},
				fill64("2001:db8:1:3", 8*m), []escStep{{"2001:db8:1:3::4", 11 * m, "2001:db8:1:3::/64", 128}},
				[]escStep{{"2001:db8:1:9::1", 12 * m, "2001:db8:1:9::1", 0}},
			),
		},
		{
			name: "IPv4 never escalates",
			steps: []escStep{
				{"198.51.100.1", 0, "198.51.100.1", 0},
				{"198.51.100.2", m, "198.51.100.2", 0},
				{"198.51.100.3", 2 * m, "198.51.100.3", 0},
				{"198.51.100.4", 3 * m, "198.51.100.4", 0},
			},
		},
		{
			name:   "start at /64 widens to /48 directly",
			policy: func(p *Policy) { p.IPv6Prefix, p.Escalation.Steps = 64, []int{48} },
			steps: []escStep{
				{"2001:db8:1:1::1", 0, "2001:db8:1:1::/64", 0},
				{"2001:db8:1:2::1", m, "2001:db8:1:2::/64", 0},
				{"2001:db8:1:3::1", 2 * m, "2001:db8:1:3::/64", 0},
				{"2001:db8:1:4::1", 3 * m, "2001:db8:1::/48", 64},
			},
		},
		{
			name:   "without ipv6_escalation a /64 is never widened",
			policy: func(p *Policy) { p.Escalation = Escalation{} },
			steps:  cat(fill64("2001:db8:1:1", 0), []escStep{{"2001:db8:1:1::4", 3 * m, "2001:db8:1:1::4", 0}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := escalating()
			if tt.policy != nil {
				tt.policy(&cfg)
			}
			j := mustNew(t, cfg)
			var self []netip.Prefix
			for _, s := range tt.self {
				self = append(self, netip.MustParsePrefix(s))
			}
			j.SetSelf(self)
			for i, s := range tt.steps {
				j.Expire(ts(s.at))
				d, v := j.Add(hit(s.addr, 1), ts(s.at), []byte(s.addr))
				if s.want == "" {
					if v != AlreadyBanned {
						t.Fatalf("hit %d (%s at +%v): %v %v, want already-banned", i, s.addr, s.at, v, d.Key)
					}
					continue
				}
				if v != Banned || d.Key.String() != s.want || d.EscalatedFrom != s.from {
					t.Fatalf("hit %d (%s at +%v): %v %v from /%d, want ban of %s from /%d", i, s.addr, s.at, v, d.Key, d.EscalatedFrom, s.want, s.from)
				}
				if got := bannedFrom(j, d.Key); got != s.from {
					t.Errorf("hit %d: Bans() says %v escalated from /%d, want /%d", i, d.Key, got, s.from)
				}
			}
		})
	}
}

func bannedFrom(j *Counter, k Key) int {
	for _, b := range j.Bans() {
		if b.Key == k {
			return b.EscalatedFrom
		}
	}
	return -1
}

// A restart restores the bans that armed a prefix: the next ban after it
// still escalates.
func TestEscalationSurvivesRestore(t *testing.T) {
	before := mustNew(t, escalating())
	for _, s := range fill64("2001:db8:1:1", 0) {
		before.Add(hit(s.addr, 1), ts(s.at), nil)
	}
	after := mustNew(t, escalating())
	for _, b := range before.Bans() {
		after.Restore(b)
	}
	d, v := after.Add(hit("2001:db8:1:1::4", 1), ts(10*time.Minute), nil)
	if v != Banned || d.Key.String() != "2001:db8:1:1::/64" || d.EscalatedFrom != 128 {
		t.Fatalf("after restore: %v %v from /%d, want a ban of the /64 from /128", v, d.Key, d.EscalatedFrom)
	}
}

// The bookkeeping forgets a prefix Within after its last ban, and holds
// at most escalationCap prefixes.
func TestEscalationMemory(t *testing.T) {
	j := mustNew(t, escalating())
	for i := range 100 {
		j.esc.record(mustKey(t, fmt.Sprintf("2001:db8:%x::1", i), 128), toNanos(ts(0)))
	}
	if n := j.esc.recent.len(); n != 100 {
		t.Fatalf("after 100 prefixes: %d tracked", n)
	}
	j.esc.record(mustKey(t, "2001:db9::1", 128), toNanos(ts(time.Hour)))
	if n := j.esc.recent.len(); n != 1 {
		t.Fatalf("an hour later: %d tracked, want only the new one", n)
	}
	for i := range escalationCap + 10 {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i)}
		a[15] = 1
		k := Key{Prefix: netip.PrefixFrom(netip.AddrFrom16(a), 128)}
		j.esc.record(k, toNanos(ts(time.Hour)))
	}
	if n := j.esc.recent.len(); n != escalationCap {
		t.Fatalf("after %d prefixes: %d tracked, want the cap %d", escalationCap+10, n, escalationCap)
	}
	for _, e := range []*entry[recentBans]{j.esc.recent.head, j.esc.recent.tail} {
		if len(e.val.at) > j.esc.after {
			t.Fatalf("%v keeps %d bans, more than after=%d", e.key, len(e.val.at), j.esc.after)
		}
	}
}

func TestEscalationPolicy(t *testing.T) {
	tests := []struct {
		name string
		esc  Escalation
		ok   bool
	}{
		{"off", Escalation{}, true},
		{"good", Escalation{Steps: []int{64, 48}, After: 3, Within: time.Hour}, true},
		{"after 1", Escalation{Steps: []int{64}, After: 1, Within: time.Hour}, false},
		{"after too many to keep", Escalation{Steps: []int{64}, After: MaxEscalationAfter + 1, Within: time.Hour}, false},
		{"no within", Escalation{Steps: []int{64}, After: 3}, false},
		{"escStep not below start", Escalation{Steps: []int{128}, After: 3, Within: time.Hour}, false},
		{"steps growing", Escalation{Steps: []int{48, 64}, After: 3, Within: time.Hour}, false},
		{"escStep 0", Escalation{Steps: []int{64, 0}, After: 3, Within: time.Hour}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := escalating()
			cfg.Escalation = tt.esc
			_, err := NewCounter(cfg)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrPolicy)) {
				t.Fatalf("NewCounter: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// BenchmarkAddIPv6 counts IPv6 hits from 1,000 addresses of one /48 whose
// windows never fill, with and without ipv6_escalation: what checking for
// a ban of the wider prefixes costs each hit.
func BenchmarkAddIPv6(b *testing.B) {
	for _, esc := range []bool{false, true} {
		b.Run(fmt.Sprintf("escalation=%v", esc), func(b *testing.B) {
			cfg := escalating()
			cfg.MaxRetry, cfg.FindTime = 5, 3*time.Second
			if !esc {
				cfg.Escalation = Escalation{}
			}
			j := mustNew(b, cfg)
			hits := make([]filter.Hit, 1000)
			for i := range hits {
				a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, byte(i % 16)}
				a[14], a[15] = byte(i>>8), byte(i)
				hits[i] = filter.Hit{Host: filter.Host{Addr: netip.AddrFrom16(a)}, Weight: 1}
			}
			now := t0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				now = now.Add(time.Millisecond)
				if _, v := j.Add(hits[i%len(hits)], now, benchLine); v != Counted {
					b.Fatalf("verdict %v", v)
				}
			}
		})
	}
}

// FuzzEscalation adds hits from a few /64s of two /48s (one /64 holding an
// ignored address) and IPv4, with expiry and restores in between, and checks
// what a widened ban may be: a step holding the hit, widened from the start
// length, never over an ignored address, never for IPv4; and that a host
// inside an active ban is never banned again.
func FuzzEscalation(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytesIn(data)
		cfg := escalating()
		cfg.MaxRetry = 1 + in.next()%2
		cfg.BanTime = time.Duration(1+in.next()%30) * time.Minute
		cfg.Escalation.After = 2 + in.next()%2
		cfg.Escalation.Within = time.Duration(1+in.next()%60) * time.Minute
		cfg.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("2001:db8:1:3::99/128")}
		j := mustNew(t, cfg)
		now := t0
		for len(in) > 0 {
			b := in.next()
			now = now.Add(time.Duration(in.next()%8) * time.Minute)
			j.Expire(now)
			var a netip.Addr
			if b&0x80 != 0 {
				a = netip.AddrFrom4([4]byte{198, 51, 100, byte(b & 7)})
			} else {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(b >> 5 & 1), 0, byte(b >> 3 & 3), 15: byte(b&7) + 1})
			}
			if b&0x40 != 0 {
				k, _ := j.KeyFor(filter.Host{Addr: a})
				j.Restore(Ban{Key: k, At: now, Until: now.Add(time.Minute)})
				continue
			}
			inside := false
			for _, ban := range j.Bans() {
				inside = inside || ban.Key.Prefix.Contains(a)
			}
			d, v := j.Add(filter.Hit{Host: filter.Host{Addr: a}, Weight: 1}, now, nil)
			if inside && v != AlreadyBanned {
				t.Fatalf("%v inside an active ban: %v %v", a, v, d.Key)
			}
			if v != Banned {
				continue
			}
			p := d.Key.Prefix
			switch {
			case !p.Contains(a):
				t.Fatalf("ban of %v for a hit of %v", p, a)
			case d.EscalatedFrom == 0 && p.Addr().Is6() && p.Bits() != 128:
				t.Fatalf("ban of %v not escalated, want a /128", p)
			case d.EscalatedFrom != 0 && (a.Is4() || d.EscalatedFrom != 128 || !slices.Contains(cfg.Escalation.Steps, p.Bits())):
				t.Fatalf("ban of %v escalated from /%d", p, d.EscalatedFrom)
			case p.Contains(netip.MustParseAddr("2001:db8:1:3::99")):
				t.Fatalf("ban of %v holds an ignored address", p)
			}
		}
		if n := j.esc.recent.len(); n > escalationCap {
			t.Fatalf("%d prefixes tracked", n)
		}
		for e := j.esc.recent.head; e != nil; e = e.next {
			if len(e.val.at) > cfg.Escalation.After || !slices.IsSorted(e.val.at) {
				t.Fatalf("%v keeps %v", e.key, e.val.at)
			}
		}
	})
}
