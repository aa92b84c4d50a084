package prefilter

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
)

var corpus struct {
	once  sync.Once
	lines [][]byte
	err   error
}

// corpusLines returns lines of scripts/gencorpus's libp2p corpus
// (PEERJAIL_BENCH_LOG names a file to read instead).
func corpusLines(b *testing.B) [][]byte {
	corpus.once.Do(func() {
		path := os.Getenv("PEERJAIL_BENCH_LOG")
		if path == "" {
			dir, err := os.MkdirTemp("", "prefilter-bench")
			if err != nil {
				corpus.err = err
				return
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "libp2p.log")
			cmd := exec.Command("go", "run", "../../scripts/gencorpus", "-kind", "libp2p", "-lines", "20000", "-seed", "1",
				"-out", path, "-truth", filepath.Join(dir, "truth.json"))
			if out, err := cmd.CombinedOutput(); err != nil {
				corpus.err = fmt.Errorf("gencorpus: %v: %s", err, out)
				return
			}
		}
		f, err := os.Open(path)
		if err != nil {
			corpus.err = err
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() && len(corpus.lines) < 50000 {
			corpus.lines = append(corpus.lines, append([]byte(nil), sc.Bytes()...))
		}
		corpus.err = sc.Err()
	})
	if corpus.err != nil {
		b.Fatal(corpus.err)
	}
	return corpus.lines
}

// benchRequirements are the requirements of the distinct filters of the
// first n jails of scripts/bench/jails.yaml.
func benchRequirements(tb testing.TB, n int) []filter.Requirement {
	c, err := config.Load("../../scripts/bench/jails.yaml", config.LoadOptions{SourcesOptional: true})
	if err != nil {
		tb.Fatal(err)
	}
	seen := make(map[string]bool)
	var reqs []filter.Requirement
	for _, jc := range c.Jails[:min(n, len(c.Jails))] {
		if seen[jc.Filter.Name] {
			continue
		}
		seen[jc.Filter.Name] = true
		f, err := filter.New(jc.Filter)
		if err != nil {
			tb.Fatal(err)
		}
		reqs = append(reqs, filter.RequirementOf(f))
	}
	return reqs
}

// BenchmarkStrategies compares the automaton with the obvious alternative,
// bytes.Index per literal, on the filters of the first N jails of the bench
// mix over libp2p lines; Auto's threshold (indexUpTo) comes from it.
func BenchmarkStrategies(b *testing.B) {
	lines := corpusLines(b)
	for _, n := range []int{2, 4, 8, 16} {
		reqs := benchRequirements(b, n)
		for _, st := range []struct {
			name string
			s    Strategy
		}{{"index", Index}, {"automaton", Automaton}} {
			set := New(reqs, st.s)
			b.Run(fmt.Sprintf("jails=%d/literals=%d/%s", n, set.Literals(), st.name), func(b *testing.B) {
				dst := make([]uint64, 1)
				var sc Scratch
				bytes := 0
				for _, l := range lines {
					bytes += len(l)
				}
				b.SetBytes(int64(bytes / len(lines)))
				i := 0
				for b.Loop() {
					set.Candidates(lines[i], dst, &sc)
					if i++; i == len(lines) {
						i = 0
					}
				}
			})
		}
	}
}

// BenchmarkCrossover runs both strategies on the first K literals of the
// 16-jail mix, one filter per literal, to place Auto's threshold.
func BenchmarkCrossover(b *testing.B) {
	lines := corpusLines(b)
	all := New(benchRequirements(b, 16), Index).lits
	for _, k := range []int{1, 2, 3, 4, 6, 8, 12} {
		reqs := make([]filter.Requirement, k)
		for i := range reqs {
			reqs[i] = filter.Requirement{Any: [][][]byte{{all[i]}}}
		}
		for _, st := range []struct {
			name string
			s    Strategy
		}{{"index", Index}, {"automaton", Automaton}} {
			set := New(reqs, st.s)
			b.Run(fmt.Sprintf("literals=%d/%s", k, st.name), func(b *testing.B) {
				dst := make([]uint64, 1)
				var sc Scratch
				i := 0
				for b.Loop() {
					set.Candidates(lines[i], dst, &sc)
					if i++; i == len(lines) {
						i = 0
					}
				}
			})
		}
	}
}
