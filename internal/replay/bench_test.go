package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// isoCorpus returns n lines of the example IPFS log (repeated as needed),
// each with a short-iso-precise prefix 50 ms after the previous line's
// (the example's pace): a
// time-sorted log with no two lines at the same time.
func isoCorpus(tb testing.TB, n int) []string {
	tb.Helper()
	f, err := os.Open("../../examples/ipfs.log.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	var bodies [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// "Jul 27 00:00:00 " is the syslog prefix; the rest stays as written.
		bodies = append(bodies, append([]byte(nil), sc.Bytes()[len("Jul 27 00:00:00 "):]...))
	}
	base := time.Date(2024, 7, 27, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		at := base.Add(time.Duration(i) * 50 * time.Millisecond)
		out[i] = at.Format("2006-01-02T15:04:05.000000-0700") + " " + string(bodies[i%len(bodies)]) + "\n"
	}
	return out
}

// writeSplit writes the lines round-robin into k files, all with the same
// modification time, and returns their paths.
func writeSplit(tb testing.TB, dir string, lines []string, k int) []string {
	tb.Helper()
	bufs := make([]bytes.Buffer, k)
	for i, l := range lines {
		bufs[i%k].WriteString(l)
	}
	mtime := time.Date(2024, 7, 28, 0, 0, 0, 0, time.UTC)
	paths := make([]string, k)
	for i := range bufs {
		paths[i] = filepath.Join(dir, fmt.Sprintf("part%d.log", i))
		if err := os.WriteFile(paths[i], bufs[i].Bytes(), 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chtimes(paths[i], mtime, mtime); err != nil {
			tb.Fatal(err)
		}
	}
	return paths
}

// BenchmarkReplay prints lines/s of one time-sorted file and of the same
// lines split round-robin over three files, merged by time, on one
// matching goroutine; cpu-ns/line is the CPU time of all goroutines (the
// feeder included) per line.
func BenchmarkReplay(b *testing.B) {
	const n = 200_000
	lines := isoCorpus(b, n)
	dir := b.TempDir()
	for _, k := range []int{1, 3} {
		paths := writeSplit(b, filepath.Join(dir), lines, k)
		if k > 1 {
			// keep the one-file corpus apart from the parts
			sub := filepath.Join(dir, "split")
			os.Mkdir(sub, 0o700)
			paths = writeSplit(b, sub, lines, k)
		}
		b.Run(fmt.Sprintf("files=%d", k), func(b *testing.B) {
			c := loadConfig(b, "../../examples/replay.yaml")
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if err := Run(context.Background(), Options{Config: c, Logs: paths, JSON: true, Out: io.Discard, Workers: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(n*b.N), "cpu-ns/line")
		})
	}
}
