package filter_test

import (
	"testing"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
)

func BenchmarkTmpCorpus(b *testing.B) {
	stock, _ := config.StockFilters()
	f, _ := filter.New(stock["libp2p-peer-status"])
	for _, n := range []string{"m", "n"} {
		lines := readLines(b, "/tmp/tally/"+n+".log")
		b.Run(n, func(b *testing.B) {
			var l logline.Line
			for n := 0; b.Loop(); n++ {
				l.Text = lines[n%len(lines)]
				f.Match(&l)
			}
		})
	}
}
