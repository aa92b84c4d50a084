package pipeline

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// logLane bans on every hit for a minute.
func logLane(t *testing.T, name string) *Lane {
	t.Helper()
	j, err := jail.NewCounter(jail.Policy{Name: name, FindTime: time.Minute, MaxRetry: 1, BanTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return &Lane{Filter: everyLine{}, Counter: j}
}

// recidiveLane counts the bans of jails (nil: all) and bans for a week.
func recidiveLane(t *testing.T, name string, jails []string, maxRetry int) *Lane {
	t.Helper()
	l, err := NewLane(config.Jail{Name: name, Recidive: &config.Recidive{Jails: jails},
		Policy: jail.Policy{Name: name, FindTime: time.Hour, MaxRetry: maxRetry, BanTime: 7 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// recidiveHit is a line naming host, read by jail's source at +at.
type recidiveHit struct {
	jail, host string
	at         time.Duration
}

var recidiveT0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// runRecidive feeds hits to the log lanes (each reads a source of its own)
// and returns the recidive lanes' bans as "jail host +at".
func runRecidive(t *testing.T, lanes []*Lane, hits []recidiveHit) []string {
	t.Helper()
	var bans []string
	e := New(lanes, Options{Workers: 1, OnDecision: func(d jail.Decision) {
		if d.Action == jail.ActionBan && strings.HasPrefix(d.Jail, "r") {
			bans = append(bans, d.Jail+" "+d.Key.String()+" +"+d.At.Sub(recidiveT0).String())
		}
	}})
	srcs := map[string]*Source{}
	for i, l := range lanes {
		if l.Recidive != nil {
			continue
		}
		s, err := e.NewSource(l.Counter.Name(), nil, []int{i})
		if err != nil {
			t.Fatal(err)
		}
		srcs[l.Counter.Name()] = s
	}
	for _, h := range hits {
		feedLines(t, e, srcs[h.jail], recidiveT0.Add(h.at), h.host)
	}
	return bans
}

func TestRecidiveCountsBans(t *testing.T) {
	const m = time.Minute
	x := "198.51.100.7"
	tests := []struct {
		name      string
		recidive  func(t *testing.T) []*Lane
		hits      []recidiveHit
		wantBans  []string
		wantCount map[string]int64 // Matched per recidive lane
	}{
		{
			name:     "bans from two listed jails add up",
			recidive: func(t *testing.T) []*Lane { return []*Lane{recidiveLane(t, "r", []string{"a", "b"}, 3)} },
			hits:     []recidiveHit{{"a", x, 0}, {"b", x, 1 * m}, {"a", x, 5 * m}},
			wantBans: []string{"r " + x + " +5m0s"},
		},
		{
			name:     "hits of a banned host ban nothing more",
			recidive: func(t *testing.T) []*Lane { return []*Lane{recidiveLane(t, "r", []string{"a"}, 2)} },
			hits:     []recidiveHit{{"a", x, 0}, {"a", x, 30 * time.Second}, {"a", x, 5 * m}},
			wantBans: []string{"r " + x + " +5m0s"},
		},
		{
			name:     "an unlisted jail's bans are not counted",
			recidive: func(t *testing.T) []*Lane { return []*Lane{recidiveLane(t, "r", []string{"a"}, 2)} },
			hits:     []recidiveHit{{"c", x, 0}, {"c", x, 5 * m}, {"a", x, 10 * m}},
		},
		{
			name:     "bans further apart than findtime",
			recidive: func(t *testing.T) []*Lane { return []*Lane{recidiveLane(t, "r", []string{"a"}, 3)} },
			hits:     []recidiveHit{{"a", x, 0}, {"a", x, 40 * m}, {"a", x, 80 * m}},
		},
		{
			name:     "no list counts every other jail",
			recidive: func(t *testing.T) []*Lane { return []*Lane{recidiveLane(t, "r", nil, 3)} },
			hits:     []recidiveHit{{"a", x, 0}, {"b", x, 1 * m}, {"c", x, 2 * m}},
			wantBans: []string{"r " + x + " +2m0s"},
		},
		{
			name: "a recidive jail's bans feed no recidive jail",
			recidive: func(t *testing.T) []*Lane {
				return []*Lane{recidiveLane(t, "r1", nil, 1), recidiveLane(t, "r2", nil, 2)}
			},
			hits:      []recidiveHit{{"a", x, 0}, {"a", "203.0.113.1", m}, {"a", x, 5 * m}},
			wantBans:  []string{"r1 " + x + " +0s", "r1 203.0.113.1 +1m0s", "r2 " + x + " +5m0s"},
			wantCount: map[string]int64{"r1": 3, "r2": 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := tt.recidive(t)
			lanes := append([]*Lane{logLane(t, "a"), logLane(t, "b"), logLane(t, "c")}, rs...)
			got := runRecidive(t, lanes, tt.hits)
			if !slices.Equal(got, tt.wantBans) {
				t.Fatalf("recidive bans %q, want %q", got, tt.wantBans)
			}
			for _, r := range rs {
				if want, ok := tt.wantCount[r.Counter.Name()]; ok && r.Counts.Matched != want {
					t.Errorf("%s counted %d bans, want %d", r.Counter.Name(), r.Counts.Matched, want)
				}
				if r.Counts.Lines != 0 {
					t.Errorf("%s saw %d lines, want none", r.Counter.Name(), r.Counts.Lines)
				}
			}
		})
	}
}

// The recidive ban's evidence names the bans that made it.
func TestRecidiveEvidence(t *testing.T) {
	lanes := []*Lane{logLane(t, "a"), logLane(t, "b"), recidiveLane(t, "r", nil, 2)}
	var ev []string
	e := New(lanes, Options{Workers: 1, OnDecision: func(d jail.Decision) {
		if d.Jail == "r" {
			ev = d.Evidence
		}
	}})
	sa, _ := e.NewSource("a", nil, []int{0})
	sb, _ := e.NewSource("b", nil, []int{1})
	feedLines(t, e, sa, recidiveT0, "198.51.100.7")
	feedLines(t, e, sb, recidiveT0.Add(time.Minute), "198.51.100.7")
	want := []string{
		"2026-11-30T08:00:00Z jail a banned 198.51.100.7 for 1m0s (offence 1)",
		"2026-11-30T08:01:00Z jail b banned 198.51.100.7 for 1m0s (offence 1)",
	}
	if !slices.Equal(ev, want) {
		t.Fatalf("evidence %q, want %q", ev, want)
	}
}

// A recidive lane reads no source: a source for all jails leaves it out,
// one naming it is refused, and Carry keeps it a recidive lane.
func TestRecidiveLaneReadsNoSource(t *testing.T) {
	r := recidiveLane(t, "r", nil, 2)
	e := New([]*Lane{logLane(t, "a"), r}, Options{Workers: 1})
	all, err := e.NewSource("all", nil, nil)
	if err != nil || !slices.Equal(all.jails, []int{0}) {
		t.Fatalf("NewSource(all) = %v, %v; want jail 0 only", all, err)
	}
	if _, err := e.NewSource("r", nil, []int{1}); err == nil {
		t.Error("a source for the recidive lane was accepted")
	}
	if c := r.Carry("", 0); c.Recidive == nil || c.Counter != r.Counter {
		t.Errorf("Carry lost the recidive lane: %+v", c)
	}
}

// Seeding takes the counted jails' bans within findtime, once each, and
// never bans by itself.
func TestSeedRecidive(t *testing.T) {
	const m = time.Minute
	now := recidiveT0
	x, y, z := jail.Key{Prefix: mustPrefix(t, "198.51.100.7/32")}, jail.Key{Prefix: mustPrefix(t, "198.51.100.8/32")}, jail.Key{Prefix: mustPrefix(t, "198.51.100.9/32")}
	r := recidiveLane(t, "r", []string{"a"}, 5)
	lanes := []*Lane{logLane(t, "a"), logLane(t, "b"), r}
	var bans []string
	e := New(lanes, Options{Workers: 1, OnDecision: func(d jail.Decision) {
		if d.Jail == "r" {
			bans = append(bans, d.Key.String()+" +"+d.At.Sub(now).String())
		}
	}})
	// The window saved before the restart holds the ban at -20m already.
	r.Counter.RestorePending([]jail.Pending{{Key: x, Hits: []time.Time{now.Add(-20 * m)}}}, now)
	past := []PastBan{
		{"a", x, now.Add(-30 * m)},
		{"a", x, now.Add(-20 * m)}, // in the saved window
		{"a", x, now.Add(-10 * m)},
		{"b", x, now.Add(-5 * m)},      // b is not counted
		{"a", y, now.Add(-2 * 60 * m)}, // older than findtime
		// z's ban at -15m counted towards r's own ban of z at -15m, which
		// has ended.
		{"a", z, now.Add(-15 * m)},
		{"r", z, now.Add(-15 * m)},
	}
	if n := e.SeedRecidive([]string{"r"}, past, now); n != 2 {
		t.Errorf("SeedRecidive took %d bans, want 2", n)
	}
	sa, _ := e.NewSource("a", nil, []int{0})
	feedLines(t, e, sa, now, "198.51.100.7")
	if len(bans) != 0 {
		t.Fatalf("banned after 4 bans, want 5: %v", bans)
	}
	feedLines(t, e, sa, now.Add(2*m), "198.51.100.7")
	if !slices.Equal(bans, []string{"198.51.100.7 +2m0s"}) {
		t.Fatalf("recidive bans %v, want one at +2m", bans)
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
