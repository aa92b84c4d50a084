package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

var (
	future = time.Date(2099, 1, 1, 0, 0, 0, 123456789, time.UTC)
	past   = time.Date(2001, 1, 1, 0, 0, 0, 123456789, time.UTC)
)

// Live: a stamp more than max_clock_skew ahead of the daemon's clock, or
// older than findtime, is counted at the time the line was read, and
// counted as replaced; a stamp inside that band orders its hit.
func TestLiveStampsOutsideTheBand(t *testing.T) {
	now := time.Date(2024, 7, 27, 12, 0, 0, 0, time.UTC)
	j := newJail(t, "a", 3) // findtime 1m
	var bans []jail.Decision
	e := New([]*Lane{j}, Options{Workers: 2, Now: func() time.Time { return now }, OnDecision: func(d jail.Decision) { bans = append(bans, d) }})
	src, _ := e.NewSource("s", nil, nil)
	feedLines(t, e, src, now.Add(-2*time.Minute), "198.51.100.1")
	feedLines(t, e, src, now.Add(61*time.Second), "198.51.100.1")
	feedLines(t, e, src, now.Add(-30*time.Second), "198.51.100.1")
	feedLines(t, e, src, future, "198.51.100.2")
	feedLines(t, e, src, past, "198.51.100.2")
	feedLines(t, e, src, now.Add(-59*time.Second), "198.51.100.3")
	want := Counts{Lines: 6, Matched: 6, Bans: 1, FutureTime: 2, PastTime: 2, LastRead: now}
	if j.Counts != want {
		t.Errorf("counts %+v, want %+v", j.Counts, want)
	}
	if len(bans) != 1 || bans[0].Key.String() != "198.51.100.1" || !bans[0].At.Equal(now) || !bans[0].Until.Equal(now.Add(time.Hour)) {
		t.Errorf("bans %+v, want 198.51.100.1 banned from the daemon's now for the full bantime", bans)
	}
	st := j.Counter.Stats(now)
	if st.Failing != 2 {
		t.Errorf("failing %d, want 2 (the replaced hits count, at the read time)", st.Failing)
	}
}

// Live: lines without a stamp, or whose time is the reader's, count at the
// daemon's clock, not at the reader's wall clock.
func TestLiveUndatedLinesUseTheDaemonClock(t *testing.T) {
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	j := newJail(t, "a", 2)
	var bans []jail.Decision
	e := New([]*Lane{j}, Options{Workers: 1, Now: func() time.Time { return now }, OnDecision: func(d jail.Decision) { bans = append(bans, d) }})
	src, _ := e.NewSource("s", nil, nil)
	in := make(chan *Batch, 1)
	b := NewBatch(src)
	b.Add(logline.Line{Text: []byte("198.51.100.1"), Time: time.Unix(1, 0)})
	b.Add(logline.Line{Text: []byte("198.51.100.1")})
	in <- b
	close(in)
	if err := e.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(bans) != 1 || !bans[0].At.Equal(now) || j.Counts.Undated != 0 || j.Counts.PastTime != 0 {
		t.Errorf("bans %+v, counts %+v: want one ban at the daemon's now", bans, j.Counts)
	}
}

// The clock takeover, in the engine: a line stamped in 2099 ends no ban, in
// any jail; bans end when the daemon's clock (its expiry ticker) says so.
func TestLiveExpiryRunsOnTheDaemonClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newJail(t, "a", 1), newJail(t, "b", 1) // bantime 1h
		start := time.Now()
		var mu sync.Mutex
		var got []string
		e := New([]*Lane{a, b}, Options{Workers: 2, Now: time.Now, OnDecision: func(d jail.Decision) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s %s %s at %s", d.Action, d.Jail, d.Key, d.At.Sub(start)))
		}})
		sa, _ := e.NewSource("a", nil, []int{0})
		sb, _ := e.NewSource("b", nil, []int{1})
		in := make(chan *Batch)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { _ = e.Run(ctx, in) })
		wg.Go(func() { // the daemon's expiry ticker
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
					e.Do(func() { e.Expire(time.Now()) })
				}
			}
		})
		send := func(src *Source, at time.Time, text string) {
			batch := NewBatch(src)
			batch.Add(logline.Line{Text: []byte(text), Time: at, TimeIsExact: true})
			in <- batch
			synctest.Wait()
		}
		check := func(want ...string) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("decisions %q, want %q", got, want)
			}
		}
		send(sa, start, "198.51.100.1")
		send(sb, start, "198.51.100.2")
		send(sa, future, "198.51.100.3")
		check("ban a 198.51.100.1 at 0s", "ban b 198.51.100.2 at 0s", "ban a 198.51.100.3 at 0s")
		time.Sleep(59 * time.Minute)
		send(sb, future, "198.51.100.4")
		send(sa, future.Add(365*24*time.Hour), "198.51.100.4")
		check("ban a 198.51.100.1 at 0s", "ban b 198.51.100.2 at 0s", "ban a 198.51.100.3 at 0s",
			"ban b 198.51.100.4 at 59m0s", "ban a 198.51.100.4 at 59m0s")
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		check("ban a 198.51.100.1 at 0s", "ban b 198.51.100.2 at 0s", "ban a 198.51.100.3 at 0s",
			"ban b 198.51.100.4 at 59m0s", "ban a 198.51.100.4 at 59m0s",
			"unban a 198.51.100.1 at 1h0m0s", "unban a 198.51.100.3 at 1h0m0s", "unban b 198.51.100.2 at 1h0m0s")
		if a.Counts.FutureTime != 2 || b.Counts.FutureTime != 1 {
			t.Errorf("replaced future stamps: a %d, b %d; want 2 and 1", a.Counts.FutureTime, b.Counts.FutureTime)
		}
	})
}

// Replay: a stamp past the file's modification time, or far before the
// source's latest time, moves no clock and counts at the source's time.
func TestReplayOutOfOrder(t *testing.T) {
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	t0 := time.Date(2024, 7, 27, 0, 0, 0, 0, time.UTC)
	j := newJail(t, "a", 2) // findtime 1m, bantime 1h
	var got []string
	e := New([]*Lane{j}, Options{Workers: 1, OnDecision: func(d jail.Decision) {
		got = append(got, d.Action.String()+" "+d.Key.String()+" "+d.At.Sub(t0).String())
	}})
	src, _ := e.NewSource("auth.log", func() time.Time { return mtime }, nil)
	for i, l := range []struct {
		at   time.Time
		host string
	}{
		{t0, "198.51.100.1"},
		{t0.Add(time.Second), "198.51.100.1"}, // banned until 1h0m1s
		{future, "198.51.100.9"},              // would lift the ban
		{t0.Add(2 * time.Second), "198.51.100.2"},
		{past, "198.51.100.2"}, // would fall out of the window
		{t0.Add(3 * time.Hour), "198.51.100.3"},
	} {
		in := make(chan *Batch, 1)
		b := NewBatch(src)
		b.Add(logline.Line{Text: []byte(l.host), Time: l.at, TimeIsExact: true, Number: int64(i + 1)})
		in <- b
		close(in)
		if err := e.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"ban 198.51.100.1 1s", "ban 198.51.100.2 2s", "unban 198.51.100.1 1h0m1s", "unban 198.51.100.2 1h0m2s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decisions %q, want %q", got, want)
	}
	if j.Counts.OutOfOrder != 2 || j.Counts.Matched != 6 || !e.LogTime().Equal(t0.Add(3*time.Hour)) {
		t.Errorf("counts %+v, clock %v", j.Counts, e.LogTime())
	}
}
