package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// diffSpecs are the filters the differential tests combine: the stock
// filters and custom ones with different literals, none, several patterns,
// ignore patterns, JSON conditions and a time field.
func diffSpecs(t testing.TB) []filter.Spec {
	stock, err := config.StockFilters()
	if err != nil {
		t.Fatal(err)
	}
	var specs []filter.Spec
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range stock {
			if !yield(k) {
				return
			}
		}
	}) {
		specs = append(specs, stock[name])
	}
	re := func(name string, fail []string, ignore ...string) filter.Spec {
		return filter.Spec{Name: name, Regex: &filter.RegexSpec{Fail: fail, Ignore: ignore}}
	}
	specs = append(specs,
		re("gater", []string{`is blocked in connection gater, addr <HOST>`}),
		re("negotiation", []string{`protocol negotiation failed\t\{"peer": "\S+", "remote": "<HOST>"`}),
		re("nolit", []string{`(?i)from <HOST>`}),
		re("anyhost", []string{`^\S+ \S+ \S+ <HOST>`}),
		re("two", []string{`Failed password for \S+ from <HOST>`, `peer=<ID> addr=`}, `user root`),
		re("id", []string{`wantlist to <ID>:`}),
		filter.Spec{Name: "json-level", JSON: &filter.JSONSpec{
			Match: []filter.Condition{{Path: "level", Op: filter.OpEqual, Values: []any{"warn"}}},
			Host:  "remote_address",
		}},
		filter.Spec{Name: "json-time", JSON: &filter.JSONSpec{
			Match: []filter.Condition{{Path: "suspicious", Op: filter.OpExists, Exists: true}},
			ID:    "peer_id", Time: "ts",
		}},
	)
	return specs
}

// diffLines are fixture lines of every stock format, and mutations of
// them: fragments spliced together, literals dropped in, escapes, bytes
// flipped, cut short.
func diffLines(t testing.TB, rng *rand.Rand, n int) [][]byte {
	var base [][]byte
	for _, glob := range []string{"../config/testdata/stock/*.log", "../../testdata/real/*/*/*/*.log"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for l := range bytes.Lines(data) {
				base = append(base, bytes.TrimRight(l, "\r\n"))
			}
		}
	}
	if len(base) < 100 {
		t.Fatalf("only %d fixture lines", len(base))
	}
	bits := []string{"CANONICAL_PEER_STATUS: peer=", "msg=CANONICAL_MISBEHAVING_PEER peer=", " addr=/ip4/192.0.2.1/tcp/1 ",
		"Failed password for root from 192.0.2.7 port 22 ssh2", `"suspicious":true`, `\u0073`, `"remote_address":"192.0.2.9:1"`,
		`"level":"warn"`, "from 2001:db8::1", "wantlist to QmPeer:", `{"peer": "x", "remote": "/ip6/2001:db8::2/tcp/4"`,
		"is blocked in connection gater, addr /ip4/198.51.100.3/udp/1", "user root", "\t", " "}
	out := make([][]byte, 0, n)
	for len(out) < n {
		l := slices.Clone(base[rng.IntN(len(base))])
		switch rng.IntN(6) {
		case 0: // as written
		case 1:
			o := base[rng.IntN(len(base))]
			i, k := rng.IntN(len(l)+1), rng.IntN(len(o)+1)
			l = append(l[:i:i], o[k:]...)
		case 2:
			i := rng.IntN(len(l) + 1)
			l = slices.Insert(l, i, []byte(bits[rng.IntN(len(bits))])...)
		case 3:
			if len(l) > 0 {
				l[rng.IntN(len(l))] = byte(rng.IntN(256))
			}
		case 4:
			l = l[:rng.IntN(len(l)+1)]
		case 5:
			for range 1 + rng.IntN(4) {
				l = append(l, bits[rng.IntN(len(bits))]...)
			}
		}
		out = append(out, l)
	}
	return out
}

// reference is what each jail made of a line before the filters were
// shared: its own filter and its own detector.
type reference struct {
	filters []filter.Filter
	dets    []*timestamp.Detector
}

func (r *reference) result(j int, l *logline.Line) result {
	hit, out := r.filters[j].Match(l)
	res := result{hit: hit, outcome: out}
	if out == filter.Match || out == filter.Learned || hit.ID != "" {
		res.at, res.dated, res.read = lineTime(l, hit, r.dets[j])
	}
	return res
}

// TestSharedMatchIsExact: for random lines and random combinations of
// stock and custom filters (repeated ones and several datepatterns
// included), every jail's result with the prefilter and shared Matches is
// the one its own filter gives.
func TestSharedMatchIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	specs := diffSpecs(t)
	lines := diffLines(t, rng, 4000)
	ref := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pats := []string{"", "", "iso8601", "%Y-%m-%dT%H:%M:%S"}
	combos, hits := 0, 0
	for round := range 40 {
		n := 1 + rng.IntN(16)
		var jails []*Lane
		var r reference
		for range n {
			s := specs[rng.IntN(len(specs))]
			jl, err := NewLane(config.Jail{Name: "j", Filter: s, Policy: jail.Policy{FindTime: time.Hour, MaxRetry: 3, BanTime: time.Hour},
				DatePattern: pats[rng.IntN(len(pats))]})
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			jails = append(jails, jl)
			own, err := filter.New(s)
			if err != nil {
				t.Fatal(err)
			}
			r.filters = append(r.filters, own)
			d, err := timestamp.NewDetector(timestamp.Options{Pattern: jl.DatePattern, Reference: func() time.Time { return ref }})
			if err != nil {
				t.Fatal(err)
			}
			r.dets = append(r.dets, d)
		}
		e := New(jails, Options{Workers: 1})
		src, err := e.NewSource("diff", func() time.Time { return ref }, nil)
		if err != nil {
			t.Fatal(err)
		}
		combos++
		for start := 0; start < len(lines); start += BatchSize {
			b := NewBatch(src)
			for i, text := range lines[start:min(start+BatchSize, len(lines))] {
				if i == 7 {
					b.AddBad(logline.Line{Number: int64(start + i)})
					continue
				}
				b.Add(logline.Line{Text: text, Number: int64(start + i)})
			}
			e.match(b)
			for i := range b.Lines {
				for j := range jails {
					var got result
					if k := b.idx[i*len(jails)+j]; k > 0 {
						got = b.res[k-1]
					}
					want := result{outcome: filter.Unparsed}
					if !b.bad[i] {
						want = r.result(j, &b.Lines[i])
					}
					if want.outcome != filter.Miss {
						hits++
					}
					got.first = false // which jail of a group teaches is not the filter's business
					if got != want {
						t.Fatalf("round %d, jail %d (%s) of %d, line %q:\n got %+v\nwant %+v",
							round, j, jails[j].Filter, n, b.Lines[i].Text, got, want)
					}
				}
			}
			b.release()
		}
	}
	t.Logf("%d combinations × %d lines, %d results other than a miss", combos, len(lines), hits)
	if hits < combos*len(lines)/100 {
		t.Errorf("only %d results other than a miss: the lines test little", hits)
	}
}

// FuzzSharedMatch checks one line at a time against every diffSpecs filter
// at once, each twice (shared) with different datepatterns.
func FuzzSharedMatch(f *testing.F) {
	rng := rand.New(rand.NewPCG(8, 2))
	for _, l := range diffLines(f, rng, 64) {
		f.Add(l)
	}
	f.Add([]byte(strings.Repeat("a", 300) + `\u` + `{"suspicious":true}`))
	specs := diffSpecs(f)
	ref := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var jails []*Lane
	var r reference
	for i, s := range append(slices.Clone(specs), specs...) {
		pat := ""
		if i >= len(specs) {
			pat = "iso8601"
		}
		jl, err := NewLane(config.Jail{Name: fmt.Sprint(i), Filter: s, Policy: jail.Policy{FindTime: time.Hour, MaxRetry: 3, BanTime: time.Hour}, DatePattern: pat})
		if err != nil {
			f.Fatal(err)
		}
		jails = append(jails, jl)
		own, _ := filter.New(s)
		r.filters = append(r.filters, own)
		d, _ := timestamp.NewDetector(timestamp.Options{Pattern: pat, Reference: func() time.Time { return ref }})
		r.dets = append(r.dets, d)
	}
	e := New(jails, Options{Workers: 1})
	src, err := e.NewSource("fuzz", func() time.Time { return ref }, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		b := NewBatch(src)
		b.Add(logline.Line{Text: text})
		e.match(b)
		for j := range jails {
			var got result
			if k := b.idx[j]; k > 0 {
				got = b.res[k-1]
			}
			got.first = false
			if want := r.result(j, &b.Lines[0]); got != want {
				t.Fatalf("jail %d: got %+v, want %+v", j, got, want)
			}
		}
		b.release()
	})
}
