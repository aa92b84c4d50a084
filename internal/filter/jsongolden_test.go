package filter

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"

	"github.com/peerjail/peerjail/internal/golden"
)

// testdata/json/flow.log is 300 lines of the benchmark's flow corpus (seed
// 7, decoys raised to 3% so that 300 lines hold several; written by the
// generator that preceded scripts/gencorpus, whose
// -kind flow -lines 300 -hostile-share 0.03 writes lines of the same shapes)
// followed by hand-written hostile lines.

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "json", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func TestJSONGolden(t *testing.T) {
	f, err := NewJSON("flow", flowSpec())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for i, text := range readLines(t, "flow.log") {
		hit, o := f.Match(&logline.Line{Text: text})
		host := "-"
		if o == Match {
			host = hit.Host.String()
		}
		fmt.Fprintf(&out, "%d %s %s\n", i+1, o, host)
	}
	golden.Check(t, filepath.Join("testdata", "json", "flow.golden"), out.Bytes())
}

// BenchmarkJSONFlow is Match over the flow corpus, one line per op.
func BenchmarkJSONFlow(b *testing.B) {
	benchJSON(b, func(o Outcome) bool { return true })
}

// BenchmarkJSONFlowMiss is Match over the corpus lines that do not match;
// they must not allocate.
func BenchmarkJSONFlowMiss(b *testing.B) {
	benchJSON(b, func(o Outcome) bool { return o == Miss })
}

// BenchmarkJSONFlowMatch is Match over the lines that match.
func BenchmarkJSONFlowMatch(b *testing.B) {
	benchJSON(b, func(o Outcome) bool { return o == Match })
}

func benchJSON(b *testing.B, keep func(Outcome) bool) {
	f, err := NewJSON("flow", flowSpec())
	if err != nil {
		b.Fatal(err)
	}
	var lines []*logline.Line
	var size int
	for _, text := range readLines(b, "flow.log") {
		l := &logline.Line{Text: text}
		if _, o := f.Match(l); keep(o) {
			lines = append(lines, l)
			size += len(text)
		}
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Match(lines[i%len(lines)])
	}
}

// TestJSONConcurrent runs one filter on several goroutines (meaningful with
// -race): the results must be those of a single goroutine.
func TestJSONConcurrent(t *testing.T) {
	f, err := NewJSON("flow", flowSpec())
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, "flow.log")
	type result struct {
		hit Hit
		o   Outcome
	}
	want := make([]result, len(lines))
	for i, text := range lines {
		want[i].hit, want[i].o = f.Match(&logline.Line{Text: text})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range lines {
				i = (i + g*len(lines)/4) % len(lines)
				if hit, o := f.Match(&logline.Line{Text: lines[i]}); hit != want[i].hit || o != want[i].o {
					errs <- fmt.Sprintf("line %d: %v %v, want %v %v", i+1, o, hit, want[i].o, want[i].hit)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
