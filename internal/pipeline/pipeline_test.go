package pipeline

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

// everyLine blames the address that is the whole line, with the line's time.
type everyLine struct{}

func (everyLine) Match(l *logline.Line) (filter.Hit, filter.Outcome) {
	a, err := netip.ParseAddr(string(l.Text))
	if err != nil {
		return filter.Hit{}, filter.Miss
	}
	return filter.Hit{Host: filter.Host{Addr: a}, Weight: 1}, filter.Match
}

func newJail(t *testing.T, name string, maxRetry int) *Lane {
	t.Helper()
	j, err := jail.NewCounter(jail.Policy{Name: name, FindTime: time.Minute, MaxRetry: maxRetry, BanTime: time.Hour, IPv6Prefix: 64})
	if err != nil {
		t.Fatal(err)
	}
	return &Lane{Filter: everyLine{}, Counter: j}
}

func feedLines(t *testing.T, e *Engine, src *Source, at time.Time, lines ...string) {
	t.Helper()
	in := make(chan *Batch, 1)
	b := NewBatch(src)
	for _, s := range lines {
		b.Add(logline.Line{Text: []byte(s), Time: at, TimeIsExact: true})
	}
	in <- b
	close(in)
	if err := e.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// A source feeds only the jails that read it.
func TestSourceJails(t *testing.T) {
	a, b := newJail(t, "a", 2), newJail(t, "b", 2)
	var bans []string
	e := New([]*Lane{a, b}, Options{Workers: 1, OnDecision: func(d jail.Decision) { bans = append(bans, d.Jail+" "+d.Key.String()) }})
	onlyB, err := e.NewSource("b.log", nil, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	feedLines(t, e, onlyB, time.Unix(100, 0), "198.51.100.1", "198.51.100.1", "x")
	if a.Counts.Lines != 0 || b.Counts.Lines != 3 || b.Counts.Matched != 2 {
		t.Errorf("counts: a %+v, b %+v", a.Counts, b.Counts)
	}
	if len(bans) != 1 || bans[0] != "b 198.51.100.1" {
		t.Errorf("bans %v", bans)
	}
	if _, err := e.NewSource("bad", nil, []int{2}); err == nil {
		t.Error("a source for a jail that does not exist was accepted")
	}
}

// Expire and Do: bans end in time order across jails.
func TestExpireOrder(t *testing.T) {
	a, b := newJail(t, "a", 1), newJail(t, "b", 1)
	var got []string
	e := New([]*Lane{a, b}, Options{Workers: 1, OnDecision: func(d jail.Decision) {
		got = append(got, d.Action.String()+" "+d.Jail)
	}})
	sa, _ := e.NewSource("a", nil, []int{0})
	sb, _ := e.NewSource("b", nil, []int{1})
	feedLines(t, e, sb, time.Unix(0, 0), "198.51.100.1")
	feedLines(t, e, sa, time.Unix(10, 0), "198.51.100.1")
	e.Do(func() { e.Expire(time.Unix(0, 0).Add(2 * time.Hour)) })
	want := []string{"ban b", "ban a", "unban b", "unban a"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
