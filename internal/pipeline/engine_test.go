package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

// unevenLine is everyLine with uneven work: some lines make their worker
// yield many times, so that with several workers later batches finish
// matching before earlier ones and the engine must restore their order.
type unevenLine struct{}

func (unevenLine) Match(l *logline.Line) (filter.Hit, filter.Outcome) {
	if l.Number%7 == 0 {
		for range 200 {
			runtime.Gosched()
		}
	}
	return everyLine{}.Match(l)
}

// engineBatch is one batch of a scripted run: which source, and its lines.
type engineBatch struct {
	src   int
	lines []engineLine
}

type engineLine struct {
	text string
	at   time.Time
	bad  bool // too long to read: sent with AddBad
	num  int64
}

var engineT0 = time.Date(2024, 7, 27, 0, 0, 0, 0, time.UTC)

// engineScript is a deterministic run over three sources: hosts from a
// small pool (two IPv6 addresses share a /64), lines that match nothing,
// bad lines, batches of 1 to 700 lines, time moving by 0 to 3 s a line so
// that windows fill, bans end and repeat offenders come back.
func engineScript(seed uint64) []engineBatch {
	r := rand.New(rand.NewPCG(seed, 7))
	hosts := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.9",
		"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:9::1", "192.0.2.200"}
	at := engineT0
	var num int64
	var script []engineBatch
	for range 60 {
		b := engineBatch{src: r.IntN(3)}
		n := 1 + r.IntN(40)
		if r.IntN(8) == 0 {
			n = 500 + r.IntN(200)
		}
		for range n {
			num++
			at = at.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			l := engineLine{at: at, num: num}
			switch k := r.IntN(20); {
			case k == 0:
				l.bad = true
			case k < 3:
				l.text = "connection closed by remote"
			default:
				l.text = hosts[r.IntN(len(hosts))]
			}
			b.lines = append(b.lines, l)
		}
		script = append(script, b)
	}
	return script
}

// engineRun is what one run produced, in a form two runs can be compared by.
type engineRun struct {
	events []string // decisions and batch ends, in the order they happened
	counts []Counts
	hosts  []map[jail.Key]int
}

// runScript runs a script through a fresh engine of three jails, read by
// sources: 0 → every jail, 1 → jail a, 2 → jails b and c. split cuts every
// batch into batches of that many lines (0: as scripted).
func runScript(t *testing.T, script []engineBatch, workers, split int) engineRun {
	t.Helper()
	var jails []*Lane
	for i, maxRetry := range []int{2, 3, 5} {
		j, err := jail.NewCounter(jail.Policy{Name: string(rune('a' + i)), FindTime: time.Minute, MaxRetry: maxRetry,
			BanTime: 10 * time.Minute, Increment: jail.Increment{Factor: 2, MaxTime: time.Hour}, IPv6Prefix: 64})
		if err != nil {
			t.Fatal(err)
		}
		jails = append(jails, &Lane{Filter: unevenLine{}, Counter: j})
	}
	var run engineRun
	e := New(jails, Options{
		Workers:    workers,
		TrackHosts: true,
		OnDecision: func(d jail.Decision) {
			run.events = append(run.events, fmt.Sprintf("%s %s %s at %s until %s hits %d offences %d",
				d.Action, d.Jail, d.Key, d.At.Sub(engineT0), d.Until.Sub(engineT0), d.Hits, d.Offences))
		},
		AfterBatch: func(b *Batch) {
			run.events = append(run.events, fmt.Sprintf("batch %s %d-%d", b.Source().Name, b.Lines[0].Number, b.Lines[b.Len()-1].Number))
		},
	})
	var srcs []*Source
	for i, js := range [][]int{nil, {0}, {1, 2}} {
		s, err := e.NewSource(fmt.Sprint("s", i), func() time.Time { return engineT0.Add(24 * time.Hour) }, js)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	in := make(chan *Batch)
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background(), in) }()
	for _, sb := range script {
		for len(sb.lines) > 0 {
			n := len(sb.lines)
			if split > 0 {
				n = min(n, split)
			}
			b := NewBatch(srcs[sb.src])
			for _, l := range sb.lines[:n] {
				ll := logline.Line{Text: []byte(l.text), Time: l.at, TimeIsExact: true, Number: l.num}
				if l.bad {
					b.AddBad(ll)
				} else {
					b.Add(ll)
				}
			}
			in <- b
			sb.lines = sb.lines[n:]
		}
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, j := range jails {
		run.counts = append(run.counts, j.Counts)
		run.hosts = append(run.hosts, j.HostHits())
	}
	return run
}

// Decisions come out in the order of the batches and of the lines in them,
// whatever the number of workers matching and however the lines are cut
// into batches: parallel matching decides exactly what sequential does.
func TestWorkersDecideAsOne(t *testing.T) {
	script := engineScript(1)
	want := runScript(t, script, 1, 1) // one line at a time, one goroutine
	bans := 0
	for _, ev := range want.events {
		if strings.HasPrefix(ev, "ban ") {
			bans++
		}
	}
	if bans < 10 || want.counts[0].Unparsed == 0 || want.counts[1].Bans == 0 {
		t.Fatalf("the script exercises too little: %d bans, counts %+v", bans, want.counts)
	}
	tests := []struct {
		name           string
		workers, split int
	}{
		{"one worker", 1, 0},
		{"two workers", 2, 0},
		{"eight workers", 8, 0},
		{"eight workers, batches of 3", 8, 3},
		{"three workers, batches of 1", 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runScript(t, script, tt.workers, tt.split)
			if tt.split == 1 {
				// Same batches as the reference: batch ends must match too.
				if d := firstDiff(want.events, got.events); d != "" {
					t.Errorf("events differ from one worker's: %s", d)
				}
			} else if d := firstDiff(decisions(want.events), decisions(got.events)); d != "" {
				t.Errorf("decisions differ from one worker's: %s", d)
			}
			if fmt.Sprint(got.counts) != fmt.Sprint(want.counts) {
				t.Errorf("counts %+v, want %+v", got.counts, want.counts)
			}
			if fmt.Sprint(got.hosts) != fmt.Sprint(want.hosts) {
				t.Errorf("hosts %v, want %v", got.hosts, want.hosts)
			}
		})
	}
}

func decisions(events []string) []string {
	var ds []string
	for _, ev := range events {
		if !strings.HasPrefix(ev, "batch ") {
			ds = append(ds, ev)
		}
	}
	return ds
}

func firstDiff(want, got []string) string {
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) || want[i] != got[i] {
			return fmt.Sprintf("at %d of %d/%d: got %q, want %q", i, len(got), len(want), at(got, i), at(want, i))
		}
	}
	return ""
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(end)"
}

// AfterBatch sees every batch once, in the order sent, after the decisions
// of its own lines and before any of the next batch's.
func TestAfterBatchOrder(t *testing.T) {
	script := engineScript(2)
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			run := runScript(t, script, workers, 0)
			k := 0 // the batch whose lines are being counted
			for _, ev := range run.events {
				if k >= len(script) {
					t.Fatalf("event %q after the last batch", ev)
				}
				sb := script[k]
				first, last := sb.lines[0], sb.lines[len(sb.lines)-1]
				if strings.HasPrefix(ev, "batch ") {
					if want := fmt.Sprintf("batch s%d %d-%d", sb.src, first.num, last.num); ev != want {
						t.Fatalf("batch end %q, want %q", ev, want)
					}
					k++
					continue
				}
				// In replay a ban is at its decisive line's stamp and an
				// unban at or before the stamp that moved the clock past it.
				f := strings.Fields(ev) // action jail key "at" duration ...
				at, err := time.ParseDuration(f[4])
				if err != nil {
					t.Fatalf("event %q: %v", ev, err)
				}
				action := f[0]
				stamp := engineT0.Add(at)
				if stamp.After(last.at) || action == "ban" && stamp.Before(first.at) {
					t.Errorf("%q is reported with batch %d (lines %d-%d at %s-%s)", ev, k,
						first.num, last.num, first.at.Sub(engineT0), last.at.Sub(engineT0))
				}
			}
			if k != len(script) {
				t.Errorf("%d batch ends, want %d", k, len(script))
			}
		})
	}
}

// Do runs between batches: never while a batch is being counted, even with
// several workers matching and Do called in a tight loop from elsewhere.
// The race detector sees any overlap on the jails; the checks inside Do
// and OnDecision see it without it.
func TestDoRunsBetweenBatches(t *testing.T) {
	const batches, perBatch = 300, 10
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := newJail(t, "a", 1), newJail(t, "b", 1)
	inDo := false
	var errs []string
	e := New([]*Lane{a, b}, Options{Workers: 4, Now: func() time.Time { return now }, OnDecision: func(d jail.Decision) {
		if inDo {
			errs = append(errs, "a decision was made while Do ran")
		}
	}})
	src, _ := e.NewSource("s", nil, nil)
	in := make(chan *Batch)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(in)
		for i := range batches {
			bt := NewBatch(src)
			for k := range perBatch {
				bt.Add(logline.Line{Text: fmt.Appendf(nil, "10.%d.%d.%d", i/250, i%250, k)})
			}
			in <- bt
		}
	})
	calls := 0
	wg.Go(func() {
		for {
			e.Do(func() {
				inDo = true
				defer func() { inDo = false }()
				calls++
				for _, j := range []*Lane{a, b} {
					if j.Counts.Lines%perBatch != 0 {
						errs = append(errs, fmt.Sprintf("Do saw jail %s with %d lines counted: inside a batch", j.Counter.Name(), j.Counts.Lines))
					}
					if st := j.Counter.Stats(now); int64(st.Banned) != j.Counts.Bans {
						errs = append(errs, fmt.Sprintf("Do saw jail %s with %d banned but %d bans counted", j.Counter.Name(), st.Banned, j.Counts.Bans))
					}
				}
				e.Expire(now)
			})
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	if err := e.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d overlaps, first: %s", len(errs), errs[0])
	}
	if calls == 0 || a.Counts.Bans != batches*perBatch || b.Counts.Bans != batches*perBatch {
		t.Errorf("Do ran %d times; bans a %d, b %d, want %d each", calls, a.Counts.Bans, b.Counts.Bans, batches*perBatch)
	}
}

// Cancelling Run's context stops it whether it is idle or busy, returns
// the context's error, loses no batch it accepted (each is counted and
// handed to AfterBatch), and leaves no goroutine behind: synctest.Test
// fails if one is still blocked when the test returns.
func TestRunStopsOnCancel(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		busy    bool
	}{
		{"idle, one worker", 1, false},
		{"idle, four workers", 4, false},
		{"busy, one worker", 1, true},
		{"busy, four workers", 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := newJail(t, "a", 3)
				counted := 0
				e := New([]*Lane{j}, Options{Workers: tt.workers, AfterBatch: func(*Batch) { counted++ }})
				src, _ := e.NewSource("s", nil, nil)
				ctx, cancel := context.WithCancel(context.Background())
				in := make(chan *Batch) // never closed: only the context ends Run
				sent := 0
				var wg sync.WaitGroup
				if tt.busy {
					wg.Go(func() {
						for i := 0; ; i++ {
							b := NewBatch(src)
							b.Add(logline.Line{Text: fmt.Appendf(nil, "10.0.%d.%d", i/250%250, i%250), Time: time.Now(), TimeIsExact: true})
							select {
							case in <- b:
								sent++
								if sent == 100 {
									cancel()
								}
							case <-ctx.Done():
								return
							}
						}
					})
				} else {
					time.AfterFunc(time.Minute, cancel)
				}
				err := e.Run(ctx, in)
				wg.Wait()
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run returned %v, want context.Canceled", err)
				}
				if counted != sent || j.Counts.Lines != int64(sent) {
					t.Errorf("%d batches sent, %d counted, %d lines: an accepted batch was lost", sent, counted, j.Counts.Lines)
				}
			})
		})
	}
}

// outcomeLine answers by the line's text: "miss", "ignored", "nohost" and
// "unparsed" give that outcome, anything else is a host.
type outcomeLine struct{}

func (outcomeLine) Match(l *logline.Line) (filter.Hit, filter.Outcome) {
	switch string(l.Text) {
	case "miss":
		return filter.Hit{}, filter.Miss
	case "ignored":
		return filter.Hit{}, filter.Ignored
	case "nohost":
		return filter.Hit{}, filter.NoHost
	case "unparsed":
		return filter.Hit{}, filter.Unparsed
	}
	a, err := netip.ParseAddr(string(l.Text))
	if err != nil {
		return filter.Hit{}, filter.Unparsed
	}
	return filter.Hit{Host: filter.Host{Addr: a}, Weight: 1}, filter.Match
}

// Lines that cannot be read (AddBad) or that a filter cannot use are
// counted by kind, decide nothing, and do not shift the hits of the lines
// around them, with any number of workers.
func TestLinesCountedByOutcome(t *testing.T) {
	const bad = "\x00bad" // sent with AddBad
	tests := []struct {
		name  string
		lines []string
		want  Counts
		bans  int
	}{
		{"bad lines between hits", []string{"198.51.100.1", bad, bad, "198.51.100.1"},
			Counts{Lines: 4, Matched: 2, Unparsed: 2, Bans: 1}, 1},
		{"only bad lines", []string{bad, bad, bad},
			Counts{Lines: 3, Unparsed: 3}, 0},
		{"every outcome", []string{"miss", "ignored", "nohost", "unparsed", "not an address", "198.51.100.2", bad},
			Counts{Lines: 7, Matched: 1, Ignored: 1, NoHost: 1, Unparsed: 3}, 0},
		{"a ban, then hits while banned", []string{"198.51.100.3", "nohost", "198.51.100.3", "198.51.100.3", bad},
			Counts{Lines: 5, Matched: 3, NoHost: 1, Unparsed: 1, Bans: 1, Banned: 1}, 1},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 3} {
			for _, perLine := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s, %d workers, one batch a line %v", tt.name, workers, perLine), func(t *testing.T) {
					got, other, bans := countOutcomes(t, tt.lines, bad, workers, perLine)
					if got != tt.want || bans != tt.bans {
						t.Errorf("counts %+v, %d bans; want %+v, %d bans", got, bans, tt.want, tt.bans)
					}
					if other != (Counts{}) {
						t.Errorf("a jail that does not read the source counted %+v", other)
					}
				})
			}
		}
	}
}

// countOutcomes runs lines (bad ones sent with AddBad) through a jail of
// outcomeLine beside one that does not read the source.
func countOutcomes(t *testing.T, lines []string, bad string, workers int, perLine bool) (got, other Counts, bans int) {
	j, o := newJail(t, "a", 2), newJail(t, "other", 2)
	j.Filter = outcomeLine{}
	e := New([]*Lane{j, o}, Options{Workers: workers, OnDecision: func(jail.Decision) { bans++ }})
	src, _ := e.NewSource("s", nil, []int{0})
	in := make(chan *Batch, len(lines))
	b := NewBatch(src)
	for i, s := range lines {
		l := logline.Line{Text: []byte(s), Time: engineT0.Add(time.Duration(i) * time.Second), TimeIsExact: true}
		if s == bad {
			b.AddBad(l)
		} else {
			b.Add(l)
		}
		if perLine {
			in <- b
			b = NewBatch(src)
		}
	}
	if b.Len() > 0 {
		in <- b
	}
	close(in)
	if err := e.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return j.Counts, o.Counts, bans
}
