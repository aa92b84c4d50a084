package filter

// The benchmarks in this file are the measured reason for the hand-written
// parts of this package: each runs the product's filter and, on the same
// lines, the library it replaces doing the same job, and a test holds the
// library version to the same results so that the figures compare equals.
//
//	go test -run '^$' -bench Compare -benchmem ./internal/filter/
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench Compare -benchmem ./internal/filter/   # adds encoding/json/v2
//
// make bench-compare runs both.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// flowRecord is what a flow-suspicious filter needs from a line, as a
// struct for a general JSON decoder. Raw values keep the decoders from
// converting what the filter only compares.
type flowRecord struct {
	Suspicious    json.RawMessage `json:"suspicious"`
	RemoteAddress json.RawMessage `json:"remote_address"`
	Time          json.RawMessage `json:"time"`
	TS            json.RawMessage `json:"ts"`
	Timestamp     json.RawMessage `json:"timestamp"`
}

// jsonDecoders are the libraries JSONFilter is measured against;
// compare_jsonv2_test.go adds encoding/json/v2 when the experiment is on.
var jsonDecoders = []struct {
	name   string
	decode func([]byte, any) error
}{
	{"encoding-json", json.Unmarshal},
}

// decoderMatch is flowSpec's filter written with a general decoder: the same
// pre-check, then a struct decode, the same condition, host and time.
func decoderMatch(f *JSONFilter, decode func([]byte, any) error, l *logline.Line) (Hit, Outcome) {
	if !f.mayMatch(l.Text) {
		return Hit{}, Miss
	}
	var r flowRecord
	if decode(l.Text, &r) != nil {
		return Hit{}, Unparsed
	}
	if s := string(r.Suspicious); s != "true" && s != `"true"` {
		return Hit{}, Miss
	}
	var host string
	if decode(r.RemoteAddress, &host) != nil {
		return Hit{}, NoHost
	}
	a, ok := addr.Parse([]byte(host))
	if !ok {
		return Hit{}, NoHost
	}
	return Hit{Host: Host{Addr: a}, Time: decoderTime(decode, r), Weight: 1}, Match
}

func decoderTime(decode func([]byte, any) error, r flowRecord) time.Time {
	for _, raw := range []json.RawMessage{r.Time, r.TS, r.Timestamp} {
		if raw == nil {
			continue
		}
		text := []byte(raw)
		if raw[0] == '"' {
			var s string
			if decode(raw, &s) != nil {
				break
			}
			text = []byte(s)
		}
		if t, ok := timestamp.ParseValue(text); ok {
			return t
		}
		break
	}
	return time.Time{}
}

// generatedFlow is the generated part of testdata/json/flow.log, its first
// 300 lines: the hand-written hostile lines after them probe corners
// (duplicate keys, escaped keys, upper-case literals, nesting limits) where
// a general decoder differs, and would make the comparison one of features,
// not speed.
func generatedFlow(t testing.TB) []*logline.Line {
	const generated = 300
	texts := readLines(t, "flow.log")
	if len(texts) < generated {
		t.Fatalf("flow.log has %d lines, want at least %d", len(texts), generated)
	}
	var out []*logline.Line
	for _, text := range texts[:generated] {
		out = append(out, &logline.Line{Text: text})
	}
	return out
}

func TestDecoderMatchAgrees(t *testing.T) {
	f, err := NewJSON("flow", flowSpec())
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, d := range jsonDecoders {
		for i, l := range generatedFlow(t) {
			wantHit, want := f.Match(l)
			gotHit, got := decoderMatch(f, d.decode, l)
			if got != want || gotHit.Host != wantHit.Host || !gotHit.Time.Equal(wantHit.Time) {
				t.Errorf("%s: line %d: %v %v %v, JSONFilter %v %v %v", d.name, i+1, got, gotHit.Host, gotHit.Time, want, wantHit.Host, wantHit.Time)
			}
			if want == Match {
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no line matched: the comparison would measure misses only")
	}
}

// BenchmarkCompareJSON: JSONFilter against the general decoders over every
// generated flow line (about 10% match).
func BenchmarkCompareJSON(b *testing.B) {
	f, err := NewJSON("flow", flowSpec())
	if err != nil {
		b.Fatal(err)
	}
	lines := generatedFlow(b)
	run := func(name string, match func(*logline.Line) (Hit, Outcome)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				match(lines[i%len(lines)])
			}
		})
	}
	run("peerjail", f.Match)
	for _, d := range jsonDecoders {
		run(d.name, func(l *logline.Line) (Hit, Outcome) { return decoderMatch(f, d.decode, l) })
	}
	// Matching lines alone: the decoders' cost where the pre-check cannot help.
	var hits []*logline.Line
	for _, l := range lines {
		if _, o := f.Match(l); o == Match {
			hits = append(hits, l)
		}
	}
	lines = hits
	run("matching/peerjail", f.Match)
	for _, d := range jsonDecoders {
		run("matching/"+d.name, func(l *logline.Line) (Hit, Outcome) { return decoderMatch(f, d.decode, l) })
	}
}

// regexpMatch is RegexFilter.Match with Go's regexp where the filter runs
// rematch: the same literal pre-check, ignore patterns and host parsing.
func regexpMatch(f *RegexFilter, l *logline.Line) (Hit, Outcome) {
	text := l.Text
	if len(f.gate) > 0 && !bytes.Contains(text, f.gate) {
		return Hit{}, Miss
	}
	var pl prefixedLine
	for i := range f.fail {
		p := &f.fail[i]
		if p.prefix.programs == nil && len(p.literal) > 0 && !bytes.Contains(text, p.literal) {
			continue
		}
		msg, ok := pl.message(text, &p.prefix)
		if !ok || (p.first != nil && (len(msg) == 0 || !p.first[msg[0]])) {
			continue
		}
		if p.prefix.programs != nil && len(p.literal) > 0 && !bytes.Contains(msg, p.literal) {
			continue
		}
		m := p.re.FindSubmatchIndex(msg)
		if m == nil {
			continue
		}
		for j := range f.ignore {
			q := &f.ignore[j]
			if len(q.literal) > 0 && !bytes.Contains(text, q.literal) {
				continue
			}
			if qm, ok := pl.message(text, &q.prefix); ok && q.re.Match(qm) {
				return Hit{}, Ignored
			}
		}
		h, ok := p.blamed(msg, m)
		id := p.idOf(msg, m)
		if !ok {
			return Hit{Rule: i, ID: id}, NoHost
		}
		return Hit{Host: h, ID: id, Rule: i, Weight: 1, Prefix: pl.found()}, Match
	}
	return Hit{}, Miss
}

// stockRegex reads a stock filter from internal/config/stock. The config
// package imports this one, so the test reads the file rather than asking it.
func stockRegex(t testing.TB, name string) *RegexFilter {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "config", "stock", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Regex struct{ Fail, Ignore []string }
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	f, err := NewRegex(name, &RegexSpec{Fail: doc.Regex.Fail, Ignore: doc.Regex.Ignore})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mixedLines is rematch's sample: go-libp2p and sshd lines, matching and not.
func mixedLines(t testing.TB) []*logline.Line {
	b, err := os.ReadFile(filepath.Join("..", "rematch", "testdata", "lines.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*logline.Line
	for _, text := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		out = append(out, &logline.Line{Text: text})
	}
	return out
}

var comparedRegex = []string{"libp2p-peer-status", "libp2p-misbehaving", "sshd"}

func TestRegexpMatchAgrees(t *testing.T) {
	for _, name := range comparedRegex {
		f := stockRegex(t, name)
		matched := 0
		for i, l := range mixedLines(t) {
			wantHit, want := f.Match(l)
			gotHit, got := regexpMatch(f, l)
			if got != want || gotHit != wantHit {
				t.Errorf("%s: line %d: regexp %v %+v, rematch %v %+v", name, i+1, got, gotHit, want, wantHit)
			}
			if want == Match {
				matched++
			}
		}
		if matched == 0 {
			t.Errorf("%s: no line matched: the comparison would measure misses only", name)
		}
	}
}

// BenchmarkCompareRegex: the stock regex filters with rematch (the product)
// and with Go's regexp, over every line of a mixed libp2p and sshd sample.
func BenchmarkCompareRegex(b *testing.B) {
	lines := mixedLines(b)
	for _, name := range comparedRegex {
		f := stockRegex(b, name)
		b.Run(name+"/rematch", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f.Match(lines[i%len(lines)])
			}
		})
		b.Run(name+"/regexp", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				regexpMatch(f, lines[i%len(lines)])
			}
		})
	}
}
