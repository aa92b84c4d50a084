package source

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// collector runs Files sources one after the other, as a daemon restarted
// in between would, and records every line delivered.
type collector struct {
	t     *testing.T
	mu    sync.Mutex
	seen  []uint8           // how often each numbered line arrived
	other []logline.Line    // lines that are not numbered
	last  map[string]string // source → position of its last line
	count atomic.Int64
	out   chan logline.Line // of the source running last
	// arrived is signalled after each line, for the waits below.
	arrived chan struct{}
}

func newCollector(t *testing.T, n int) *collector {
	return &collector{t: t, seen: make([]uint8, n+1), last: make(map[string]string), arrived: make(chan struct{}, 1)}
}

// start runs fs until the returned stop is called; it returns once fs has
// looked at its globs for the first time.
func (c *collector) start(fs *Files) (stop func()) {
	c.t.Helper()
	scanned := make(chan struct{})
	var once sync.Once
	fs.scanned = func() { once.Do(func() { close(scanned) }) }
	return c.run(fs, scanned)
}

func (c *collector) run(src Live, ready <-chan struct{}) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line, 64)
	c.out = out
	errc := make(chan error, 1)
	go func() {
		errc <- src.Run(ctx, out)
		close(out)
	}()
	done := make(chan struct{})
	go func() {
		for l := range out {
			c.add(l)
		}
		close(done)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					c.t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				c.t.Error("Run did not return after its context ended")
				return
			}
			<-done
		})
	}
	// A test that fails before it stops the source must not leave it
	// running (and logging) after the test ended.
	c.t.Cleanup(stop)
	select {
	case <-ready:
	case err := <-errc:
		errc <- err // for stop
		c.t.Fatalf("Run returned early: %v", err)
	}
	return stop
}

func (c *collector) add(l logline.Line) {
	defer func() {
		select {
		case c.arrived <- struct{}{}:
		default: // a signal is pending already
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[l.Source] = l.Position
	if n, ok := lineNumber(l.Text); ok && n < len(c.seen) {
		c.seen[n]++
		c.count.Add(1)
		return
	}
	l.Text = append([]byte(nil), l.Text...)
	c.other = append(c.other, l)
}

// positions returns the last position of each source, as a store would.
func (c *collector) positions() Positions {
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := make(map[string]string, len(c.last))
	for k, v := range c.last {
		saved[k] = v
	}
	return func(s string) (string, bool) { p, ok := saved[s]; return p, ok }
}

// waitCount waits until n numbered lines arrived.
func (c *collector) waitCount(n int) {
	c.t.Helper()
	if !c.await(func() bool { return c.count.Load() >= int64(n) }) {
		c.check(1, len(c.seen)-1)
		c.t.Fatalf("waited for %d lines, got %d", n, c.count.Load())
	}
}

// waitLine waits until line k arrived.
func (c *collector) waitLine(k int) {
	c.t.Helper()
	if !c.await(func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.seen[k] > 0
	}) {
		c.t.Fatalf("waited for line %d", k)
	}
}

// await checks cond after each line that arrives, for up to 30s.
func (c *collector) await(cond func() bool) bool {
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-c.arrived:
		case <-deadline:
			return false
		}
	}
	return true
}

// check asserts that lines 1..n arrived exactly once, and nothing else.
func (c *collector) check(from, n int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var lost, dup []int
	for i := from; i <= n; i++ {
		switch {
		case c.seen[i] == 0:
			lost = append(lost, i)
		case c.seen[i] > 1:
			dup = append(dup, i)
		}
	}
	if len(lost) > 0 || len(dup) > 0 || len(c.other) > 0 {
		c.t.Errorf("lines %d..%d: %d lost (first %v), %d duplicated (first %v), %d unexpected (first %v)",
			from, n, len(lost), head(lost), len(dup), head(dup), len(c.other), headLines(c.other))
	}
}

func head(s []int) []int {
	return s[:min(len(s), 5)]
}

func headLines(ls []logline.Line) []string {
	var s []string
	for _, l := range ls[:min(len(ls), 3)] {
		s = append(s, strconv.Quote(string(l.Text)))
	}
	return s
}

// numbered is line i of a test log, of varying length.
func numbered(buf []byte, i int) []byte {
	buf = append(buf[:0], "line "...)
	buf = strconv.AppendInt(buf, int64(100000000+i), 10)
	buf = append(buf, ' ')
	for k := 0; k < i%61; k++ {
		buf = append(buf, byte('a'+k%26))
	}
	return append(buf, '\n')
}

// lineNumber parses what numbered wrote.
func lineNumber(text []byte) (int, bool) {
	if len(text) < 15 || string(text[:6]) != "line 1" {
		return 0, false
	}
	n, err := strconv.Atoi(string(text[6:14]))
	return n, err == nil
}

// appendFile opens path for appending, as a logger does.
func appendFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testLogger logs through t.Log, seen with -v or when the test fails.
// Once the test's cleanup runs, what is logged is dropped: t.Log after the
// test ended is a data race (and a panic), and a source a failed test did
// not stop may still log.
func testLogger(t testing.TB) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.ended = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t     testing.TB
	mu    sync.Mutex
	ended bool
}

func (w *tWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}
