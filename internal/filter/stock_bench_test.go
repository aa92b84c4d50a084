package filter_test

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

// BenchmarkStockFilters runs each stock filter over the stock filters' test
// logs (matching, missing and hostile lines, with and without relay
// prefixes), one line per iteration: ns/op is the cost of one line.
func BenchmarkStockFilters(b *testing.B) {
	stock, err := config.StockFilters()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ filter, log string }{
		{"libp2p-peer-status", "libp2p.log"},
		{"libp2p-misbehaving", "libp2p.log"},
		{"sshd", "sshd.log"},
		{"flow-suspicious", "flow.log"},
	} {
		f, err := filter.New(stock[c.filter])
		if err != nil {
			b.Fatal(err)
		}
		lines := readLines(b, filepath.Join("..", "config", "testdata", "stock", c.log))
		b.Run(c.filter, func(b *testing.B) {
			b.ReportAllocs()
			var l logline.Line
			for n := 0; b.Loop(); n++ {
				l.Text = lines[n%len(lines)]
				f.Match(&l)
			}
		})
		// What the pipeline calls: the hit written into its memory.
		b.Run(c.filter+"/into", func(b *testing.B) {
			b.ReportAllocs()
			var l logline.Line
			var h filter.Hit
			into := f.(filter.IntoMatcher)
			for n := 0; b.Loop(); n++ {
				l.Text = lines[n%len(lines)]
				into.MatchInto(&l, &h)
			}
		})
	}
}

// BenchmarkPeerStatusCorpus runs libp2p-peer-status over the lines of the
// libp2p corpus sample that rematch's tests use, as the pipeline calls it:
// a quarter of them are matches, as in the corpus.
func BenchmarkPeerStatusCorpus(b *testing.B) {
	stock, err := config.StockFilters()
	if err != nil {
		b.Fatal(err)
	}
	f, err := filter.New(stock["libp2p-peer-status"])
	if err != nil {
		b.Fatal(err)
	}
	lines := readLines(b, filepath.Join("..", "rematch", "testdata", "lines.log"))
	into := f.(filter.IntoMatcher)
	b.ReportAllocs()
	var l logline.Line
	var h filter.Hit
	for n := 0; b.Loop(); n++ {
		l.Text = lines[n%len(lines)]
		into.MatchInto(&l, &h)
	}
}

func readLines(b testing.TB, path string) [][]byte {
	b.Helper()
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	var out [][]byte
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// BenchmarkNewStockFilters compiles every stock filter, as loading a
// configuration does once: ns/op is a replay's fixed start-up cost.
func BenchmarkNewStockFilters(b *testing.B) {
	stock, err := config.StockFilters()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for name, s := range stock {
			if _, err := filter.New(s); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
	}
}
