package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
)

var benchCorpus struct {
	once       sync.Once
	path, err0 string
	lines      int
}

// benchLog returns a libp2p corpus: PEERJAIL_BENCH_LOG (LINES its line
// count, for the rate), or 200,000 lines scripts/gencorpus writes.
func benchLog(b *testing.B) (string, int) {
	benchCorpus.once.Do(func() {
		if p := os.Getenv("PEERJAIL_BENCH_LOG"); p != "" {
			benchCorpus.path = p
			_, _ = fmt.Sscan(os.Getenv("PEERJAIL_BENCH_LINES"), &benchCorpus.lines)
			return
		}
		dir, err := os.MkdirTemp("", "replay-bench")
		if err != nil {
			benchCorpus.err0 = err.Error()
			return
		}
		benchCorpus.path, benchCorpus.lines = filepath.Join(dir, "libp2p.log"), 200000
		out, err := exec.Command("go", "run", "../../scripts/gencorpus", "-kind", "libp2p", "-lines", "200000", "-seed", "1",
			"-out", benchCorpus.path, "-truth", filepath.Join(dir, "truth.json")).CombinedOutput()
		if err != nil {
			benchCorpus.err0 = fmt.Sprintf("gencorpus: %v: %s", err, out)
		}
	})
	if benchCorpus.err0 != "" {
		b.Fatal(benchCorpus.err0)
	}
	return benchCorpus.path, benchCorpus.lines
}

// BenchmarkJailsOnOneSource replays the libp2p corpus with the first N
// jails of scripts/bench/jails.yaml (the stock libp2p filters, sshd and
// flow, custom regex filters, jails sharing a filter) on one matching
// goroutine, and reports each run's cost as a multiple of one jail's
// (x_one_jail; the target is each extra jail at most 30% of the first,
// 8 jails ≤ 3.1). Run it with -cpu 1.
func BenchmarkJailsOnOneSource(b *testing.B) {
	log, lines := benchLog(b)
	c, err := config.Load("../../scripts/bench/jails.yaml", config.LoadOptions{SourcesOptional: true})
	if err != nil {
		b.Fatal(err)
	}
	all := c.Jails
	var one time.Duration
	for _, n := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("jails=%d", n), func(b *testing.B) {
			cc := *c
			cc.Jails = all[:n]
			for b.Loop() {
				err := Run(context.Background(), Options{Config: &cc, Logs: []string{log}, JSON: true, Out: io.Discard, Workers: 1})
				if err != nil {
					b.Fatal(err)
				}
			}
			per := b.Elapsed() / time.Duration(b.N)
			if n == 1 {
				one = per
			}
			if one > 0 {
				b.ReportMetric(float64(per)/float64(one), "x_one_jail")
			}
			if lines > 0 {
				b.ReportMetric(float64(lines)/per.Seconds(), "lines/s")
			}
		})
	}
}
