//go:build tailcompare

package source

// The measured reason for a follower of our own: it and github.com/nxadm/tail
// (what most Go log shippers use) read the same rotation burst, and each
// reports how many lines it lost and how many it delivered twice. Behind a
// build tag so that the product's tests do not build nxadm/tail:
//
//	go test -tags tailcompare -run '^$' -bench TailCompare -benchtime 3x ./internal/source/
//
// make bench-compare runs it.

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nxadm/tail"

	"github.com/peerjail/peerjail/internal/logline"
)

const (
	burstLines = 50000 // written at full speed
	burstEvery = 10000 // lines between rotations
	// quiet is how long a follower may deliver nothing before the lines it
	// has not delivered count as lost.
	quiet = 2 * time.Second
)

// tally counts how often each numbered line arrived.
type tally struct {
	mu    sync.Mutex
	seen  []uint8
	count atomic.Int64
	last  atomic.Int64 // UnixNano of the last line
}

func newTally() *tally {
	t := &tally{seen: make([]uint8, burstLines+1)}
	t.last.Store(time.Now().UnixNano()) // quiet counts from the start
	return t
}

func (t *tally) add(text []byte) {
	n, ok := lineNumber(text)
	if !ok || n > burstLines {
		return
	}
	t.mu.Lock()
	t.seen[n]++
	t.mu.Unlock()
	t.count.Add(1)
	t.last.Store(time.Now().UnixNano())
}

// wait waits until n lines arrived or none arrived for quiet.
func (t *tally) wait(n int) {
	for t.count.Load() < int64(n) {
		if time.Since(time.Unix(0, t.last.Load())) > quiet {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// waitLine waits until line k arrived or none arrived for quiet.
func (t *tally) waitLine(k int) {
	for {
		t.mu.Lock()
		ok := t.seen[k] > 0
		t.mu.Unlock()
		if ok || time.Since(time.Unix(0, t.last.Load())) > quiet {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (t *tally) result() (lost, dup int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.seen[1:] {
		switch {
		case k == 0:
			lost++
		case k > 1:
			dup += int(k) - 1
		}
	}
	return lost, dup
}

// A followFunc starts following path (with inotify, or by polling), feeding
// every line to t, and returns once it is in place; stop ends it and waits
// for it.
type followFunc func(b *testing.B, path string, t *tally, poll bool) (stop func())

func followFiles(b *testing.B, path string, t *tally, poll bool) func() {
	fs := NewFiles([]string{filepath.Join(filepath.Dir(path), "*.log")}, nil,
		FileOptions{Rescan: 50 * time.Millisecond, Poll: poll, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- fs.Run(ctx, out)
		close(out)
	}()
	done := make(chan struct{})
	go func() {
		for l := range out {
			t.add(l.Text)
		}
		close(done)
	}()
	<-fs.Ready()
	return func() {
		cancel()
		if err := <-errc; err != nil {
			b.Errorf("Files.Run: %v", err)
		}
		<-done
	}
}

func followNxadm(b *testing.B, path string, t *tally, poll bool) func() {
	tl, err := tail.TailFile(path, tail.Config{Follow: true, ReOpen: true, Poll: poll, Logger: tail.DiscardingLogger})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for l := range tl.Lines {
			if l.Err == nil {
				t.add([]byte(l.Text))
			}
		}
		close(done)
	}()
	return func() {
		if err := tl.Stop(); err != nil {
			b.Errorf("tail.Stop: %v", err)
		}
		<-done
		tl.Cleanup()
	}
}

// A rotation is logrotate's create (rename, new file) or copytruncate; it
// returns the file to write through from then on. As in TestFilesRotation,
// copytruncate first gives the reader the chance to catch up (lines unread
// at the truncation are only in the copy), then the writer goes on at full
// speed and the file may grow past the old offset before the reader looks.
type rotation func(b *testing.B, path string, w *os.File, t *tally, written int) *os.File

func rename(b *testing.B, path string, w *os.File, t *tally, written int) *os.File {
	// The rotated name does not match *.log: a file renamed away before the
	// follower opened it is out of its sight (the test of the follower
	// waits the same way). Nothing waits for the follower to catch up.
	t.waitLine(written - burstEvery + 1)
	if err := os.Rename(path, path+"."+strconv.Itoa(written)); err != nil {
		b.Fatal(err)
	}
	w.Close()
	return appendFile(b, path)
}

func copyThenTruncate(b *testing.B, path string, w *os.File, t *tally, written int) *os.File {
	t.wait(written)
	src, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(path + ".copy" + strconv.Itoa(written))
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		b.Fatal(err)
	}
	return w
}

// burst writes the numbered lines through path's rotations and returns what
// the follower made of them.
func burst(b *testing.B, follow followFunc, poll bool, rotate rotation) (lost, dup int) {
	path := filepath.Join(b.TempDir(), "app.log")
	w := appendFile(b, path)
	t := newTally()
	stop := follow(b, path, t, poll)
	var buf []byte
	for i := 1; i <= burstLines; i++ {
		buf = numbered(buf, i)
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
		if i%burstEvery == 0 && i < burstLines {
			w = rotate(b, path, w, t, i)
		}
	}
	t.wait(burstLines)
	stop()
	w.Close()
	return t.result()
}

func BenchmarkTailCompare(b *testing.B) {
	for _, poll := range []bool{false, true} {
		for _, r := range []struct {
			name string
			rot  rotation
		}{{"rename", rename}, {"copytruncate", copyThenTruncate}} {
			for _, f := range []struct {
				name   string
				follow followFunc
			}{{"peerjail", followFiles}, {"nxadm-tail", followNxadm}} {
				name := r.name + "/" + f.name
				if poll {
					name = "poll/" + name
				}
				b.Run(name, func(b *testing.B) {
					var lost, dup int
					for b.Loop() {
						l, d := burst(b, f.follow, poll, r.rot)
						lost, dup = lost+l, dup+d
					}
					b.ReportMetric(float64(lost)/float64(b.N), "lost/burst")
					b.ReportMetric(float64(dup)/float64(b.N), "dup/burst")
					if f.name == "peerjail" && lost+dup > 0 {
						b.Errorf("the follower lost %d and duplicated %d lines", lost, dup)
					}
				})
			}
		}
	}
}
