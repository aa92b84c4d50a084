package pipeline

import (
	"testing"
	"time"
)

// LastRead is what peerjail_last_line_timestamp_seconds exports: a quiet
// jail's age counts from its start, and every batch a jail reads (matched or
// not) moves it to the daemon's clock, not to the lines' stamps.
func TestLastRead(t *testing.T) {
	start := time.Date(2024, 7, 27, 12, 0, 0, 0, time.UTC)
	now := start
	a, b := newJail(t, "a", 100), newJail(t, "b", 100)
	e := New([]*Lane{a, b}, Options{Workers: 1, Now: func() time.Time { return now }})
	if !a.Counts.LastRead.Equal(start) || !b.Counts.LastRead.Equal(start) {
		t.Fatalf("before any line: %v, %v; want the start %v", a.Counts.LastRead, b.Counts.LastRead, start)
	}
	onlyA, _ := e.NewSource("s", nil, []int{0})
	now = start.Add(time.Hour)
	feedLines(t, e, onlyA, start.Add(-time.Hour), "198.51.100.1", "no address here")
	if !a.Counts.LastRead.Equal(now) {
		t.Errorf("a read at %v: LastRead %v", now, a.Counts.LastRead)
	}
	if !b.Counts.LastRead.Equal(start) {
		t.Errorf("b read nothing: LastRead %v, want its start %v", b.Counts.LastRead, start)
	}

	replay := New([]*Lane{newJail(t, "r", 100)}, Options{Workers: 1})
	src, _ := replay.NewSource("r", nil, nil)
	feedLines(t, replay, src, start, "198.51.100.1")
	if got := replay.jails[0].Counts.LastRead; !got.IsZero() {
		t.Errorf("replay: LastRead %v, want none (no clock)", got)
	}
}
