package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

// liveStep is one step of a live scenario: wait on the clock, a line read
// now naming host, or a check of the jail's state.
type liveStep struct {
	wait time.Duration
	hit  string
	// want, when set, is "failing=N tracked=N banned=N" at this point.
	want string
}

func wait(d time.Duration) liveStep { return liveStep{wait: d} }
func hit(h string) liveStep         { return liveStep{hit: h} }
func state(s string) liveStep       { return liveStep{want: s} }

// The jail's time behaviour as the daemon runs it: lines are counted when
// read on the daemon's clock, and a ticker expires bans and prunes windows
// every second inside Do (as daemon.tick does). synctest's fake clock
// makes every time below exact: findtime's edge, the ban's end to the
// second, each repeat offence's longer ban, the windows given back.
func TestLiveJailTime(t *testing.T) {
	const a, b = "198.51.100.1", "198.51.100.2"
	tests := []struct {
		name  string
		steps []liveStep
		want  []string // decisions: action key at (since start) for duration, seen (when emitted)
	}{
		{"three hits inside findtime ban, for bantime",
			[]liveStep{hit(a), wait(30 * time.Second), hit(a), wait(29 * time.Second), hit(a),
				state("failing=0 tracked=0 banned=1"), wait(10*time.Minute - time.Second), state("failing=0 tracked=0 banned=1"),
				wait(time.Second), state("failing=0 tracked=0 banned=0")},
			[]string{"ban 198.51.100.1 at 59s for 10m0s seen 59s", "unban 198.51.100.1 at 10m59s seen 10m59s"}},
		{"a hit that left findtime does not count",
			[]liveStep{hit(a), wait(30 * time.Second), hit(a), wait(31 * time.Second), hit(a),
				state("failing=1 tracked=1 banned=0"), wait(time.Second), hit(a)},
			[]string{"ban 198.51.100.1 at 1m2s for 10m0s seen 1m2s"}},
		{"findtime's edge: a hit exactly findtime old is out",
			[]liveStep{hit(a), hit(a), wait(time.Minute), hit(a), state("failing=1 tracked=1 banned=0")},
			nil},
		{"repeat offenders get longer bans, up to the cap",
			[]liveStep{hit(a), hit(a), hit(a), wait(11 * time.Minute),
				hit(a), hit(a), hit(a), wait(21 * time.Minute),
				hit(a), hit(a), hit(a), wait(31 * time.Minute),
				hit(a), hit(a), hit(a)},
			[]string{"ban 198.51.100.1 at 0s for 10m0s seen 0s", "unban 198.51.100.1 at 10m0s seen 10m0s",
				"ban 198.51.100.1 at 11m0s for 20m0s seen 11m0s", "unban 198.51.100.1 at 31m0s seen 31m0s",
				"ban 198.51.100.1 at 32m0s for 30m0s seen 32m0s", "unban 198.51.100.1 at 1h2m0s seen 1h2m0s",
				"ban 198.51.100.1 at 1h3m0s for 30m0s seen 1h3m0s"}},
		{"hits while banned neither extend the ban nor survive it",
			[]liveStep{hit(a), hit(a), hit(a), wait(9*time.Minute + 30*time.Second), hit(a), hit(a), hit(a),
				wait(31 * time.Second), state("failing=0 tracked=0 banned=0"), hit(a),
				state("failing=1 tracked=1 banned=0")},
			[]string{"ban 198.51.100.1 at 0s for 10m0s seen 0s", "unban 198.51.100.1 at 10m0s seen 10m0s"}},
		{"windows are pruned once their hits leave findtime",
			[]liveStep{hit(a), wait(20 * time.Second), hit(b), state("failing=2 tracked=2 banned=0"),
				wait(41 * time.Second), state("failing=1 tracked=1 banned=0"),
				wait(20 * time.Second), state("failing=0 tracked=0 banned=0")},
			nil},
		{"two hosts, two bans, each ends on the tick of its end",
			[]liveStep{hit(a), hit(b), hit(a), wait(3 * time.Second), hit(b), hit(a), wait(7 * time.Second), hit(b),
				wait(10 * time.Minute)},
			[]string{"ban 198.51.100.1 at 3s for 10m0s seen 3s", "ban 198.51.100.2 at 10s for 10m0s seen 10s",
				"unban 198.51.100.1 at 10m3s seen 10m3s", "unban 198.51.100.2 at 10m10s seen 10m10s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := runLive(t, tt.steps)
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("decisions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
			})
		})
	}
}

// runLive runs steps through a live engine with the daemon's ticker, in
// the caller's synctest bubble, and returns the decisions.
func runLive(t *testing.T, steps []liveStep) []string {
	j, err := jail.New(jail.Config{Name: "ssh", FindTime: time.Minute, MaxRetry: 3, BanTime: 10 * time.Minute,
		Increment: jail.Increment{Factor: 2, MaxTime: 30 * time.Minute}, IPv6Prefix: 64})
	if err != nil {
		t.Fatal(err)
	}
	pj := &Jail{Filter: everyLine{}, Jail: j}
	start := time.Now()
	var mu sync.Mutex
	var got []string
	e := New([]*Jail{pj}, Options{Workers: 2, Now: time.Now, OnDecision: func(d jail.Decision) {
		mu.Lock()
		defer mu.Unlock()
		s := fmt.Sprintf("%s %s at %s", d.Action, d.Key, d.At.Sub(start))
		if d.Action == jail.ActionBan {
			s += fmt.Sprintf(" for %s", d.Duration)
		}
		got = append(got, s+fmt.Sprintf(" seen %s", time.Since(start)))
	}})
	src, err := e.NewSource("live", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan *Batch)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.Run(ctx, in) })
	wg.Go(func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				e.Do(func() {
					now := time.Now()
					e.Expire(now)
					j.Prune(now)
				})
			}
		}
	})
	for _, s := range steps {
		switch {
		case s.wait > 0:
			time.Sleep(s.wait)
		case s.hit != "":
			// A line without a stamp: it counts when it is read.
			b := NewBatch(src)
			b.Add(logline.Line{Text: []byte(s.hit), Time: time.Now()})
			in <- b
		case s.want != "":
			var st jail.Stats
			e.Do(func() { st = j.Stats(time.Now()) })
			if got := fmt.Sprintf("failing=%d tracked=%d banned=%d", st.Failing, st.Tracked, st.Banned); got != s.want {
				t.Errorf("at %s: %s, want %s", time.Since(start), got, s.want)
			}
		}
		// Every goroutine has done what this step caused before the next.
		synctest.Wait()
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return got
}
