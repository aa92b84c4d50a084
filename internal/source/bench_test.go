package source

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

const benchLines = 1_000_000

// benchLine is line i of about 200 bytes.
func benchLine(buf []byte, i int) []byte {
	buf = numbered(buf, i)[:15]
	for len(buf) < 199 {
		buf = append(buf, "peer 12D3KooWAbCdEf connection from /ip4/203.0.113.7/tcp/4001 refused; "...)
	}
	return append(buf[:199], '\n')
}

func writeBenchLines(b *testing.B, path string) {
	f := appendFile(b, path)
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := 1; i <= benchLines; i++ {
		buf = benchLine(buf, i)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Error(err)
	}
	f.Close()
}

// BenchmarkFilesIngest measures the lines per second one followed file
// delivers: "live" while a writer appends 1,000,000 lines of 200 bytes,
// "backlog" for the same lines already written (resumed from offset 0).
func BenchmarkFilesIngest(b *testing.B) {
	for _, live := range []bool{true, false} {
		name := "backlog"
		if live {
			name = "live"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var total time.Duration
			for range b.N {
				total += ingestOnce(b, live)
			}
			b.ReportMetric(float64(benchLines*b.N)/total.Seconds(), "lines/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func ingestOnce(b *testing.B, live bool) time.Duration {
	b.StopTimer()
	dir := b.TempDir()
	path := filepath.Join(dir, "a.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	saved := noPositions
	if !live {
		writeBenchLines(b, path)
		pos := posOfTB(b, path)
		saved = func(string) (string, bool) { return pos, true }
	}
	fs := NewFiles([]string{path}, saved, FileOptions{Rescan: time.Hour})
	scanned := make(chan struct{})
	fs.scanned = func() {
		select {
		case <-scanned:
		default:
			close(scanned)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line, 4096)
	done := make(chan error, 1)
	b.StartTimer()
	start := time.Now()
	go func() { done <- fs.Run(ctx, out) }()
	<-scanned
	if live {
		go writeBenchLines(b, path)
	}
	for n := 0; n < benchLines; n++ {
		<-out
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// posOfTB is the position of offset 0 in path.
func posOfTB(b *testing.B, path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return filePos{id: idOf(fi)}.String()
}
