package filter_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

// MatchInto says what Match says, for every stock filter on every stock
// test log (hits, misses, ignored and hostile lines, JSON and not), and
// leaves the caller's Hit alone on a Miss: the pipeline keeps one Hit per
// batch and reads it only after another outcome.
func TestMatchIntoIsMatch(t *testing.T) {
	stock, logs := stockFiltersAndLogs(t)
	sentinel := filter.Hit{ID: "left alone", Rule: 7}
	for name, spec := range stock {
		f, err := filter.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		into, ok := f.(filter.IntoMatcher)
		if !ok {
			t.Fatalf("%s: %T has no MatchInto", name, f)
		}
		var misses, others int
		for _, log := range logs {
			for _, text := range readLines(t, log) {
				l := logline.Line{Text: text}
				want, wantOut := f.Match(&l)
				got := sentinel
				out := into.MatchInto(&l, &got)
				if wantOut == filter.Miss {
					want = sentinel
					misses++
				} else {
					others++
				}
				if out != wantOut || got != want {
					t.Errorf("%s: %q: MatchInto %v %+v, Match %v %+v", name, text, out, got, wantOut, want)
				}
			}
		}
		if misses == 0 || others == 0 {
			t.Errorf("%s: %d misses and %d other outcomes: the logs test one side only", name, misses, others)
		}
	}
}

// plainFilter is a Filter without MatchInto.
type plainFilter struct{ out filter.Outcome }

func (p plainFilter) Match(*logline.Line) (filter.Hit, filter.Outcome) {
	return filter.Hit{ID: "plain"}, p.out
}

// filter.MatchInto falls back to Match, and on a Miss writes nothing.
func TestMatchIntoFallsBack(t *testing.T) {
	for _, out := range []filter.Outcome{filter.Miss, filter.Match, filter.NoHost} {
		h := filter.Hit{ID: "before"}
		if got := filter.MatchInto(plainFilter{out}, &logline.Line{}, &h); got != out {
			t.Errorf("outcome %v, want %v", got, out)
		}
		if want := map[bool]string{true: "before", false: "plain"}[out == filter.Miss]; h.ID != want {
			t.Errorf("%v: hit %q, want %q", out, h.ID, want)
		}
	}
}

// MatchScratch says what Match says, for every stock regex filter on every
// stock test log, with one Scratch shared by all the filters in turn (as a
// pipeline worker's batch shares it), and leaves the Hit alone on a Miss.
func TestMatchScratchIsMatch(t *testing.T) {
	stock, logs := stockFiltersAndLogs(t)
	var fs []filter.Filter
	var names []string
	for name, spec := range stock {
		f, err := filter.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.(filter.ScratchMatcher); ok {
			fs, names = append(fs, f), append(names, name)
		}
	}
	if len(fs) < 2 {
		t.Fatalf("%d stock filters with MatchScratch", len(fs))
	}
	sentinel := filter.Hit{ID: "left alone", Rule: 7}
	var sc filter.Scratch
	others := 0
	for _, log := range logs {
		for _, text := range readLines(t, log) {
			for i, f := range fs {
				l := logline.Line{Text: text}
				want, wantOut := f.Match(&l)
				got := sentinel
				out := f.(filter.ScratchMatcher).MatchScratch(&l, &got, &sc)
				if wantOut == filter.Miss {
					want = sentinel
				} else {
					others++
				}
				if out != wantOut || got != want {
					t.Errorf("%s: %q: MatchScratch %v %+v, Match %v %+v", names[i], text, out, got, wantOut, want)
				}
			}
		}
	}
	if others == 0 {
		t.Error("no line matched: the logs test misses only")
	}
}

// stockFiltersAndLogs returns the stock filters and the paths of the stock
// test logs they are tested on.
func stockFiltersAndLogs(t *testing.T) (map[string]filter.Spec, []string) {
	t.Helper()
	stock, err := config.StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	err = filepath.WalkDir(filepath.Join("..", "config", "testdata", "stock"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".log") {
			logs = append(logs, path)
		}
		return err
	})
	if err != nil || len(logs) == 0 {
		t.Fatalf("no stock logs (%v)", err)
	}
	return stock, logs
}
