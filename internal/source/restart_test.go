package source

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFilesRestartRenamed stops the follower while a file renamed by a
// rotation still has lines it has not read, and starts it again from the
// last position it gave: the renamed file's lines must arrive, exactly
// once, whether the rotated name matches the globs or not.
//
// lagging: the follower has moved to the new file and is still reading
// the renamed one (it lags behind its writer) when it is stopped; the
// writer goes on appending to the renamed file after the restart.
// down: the rotation happens while the follower is stopped.
func TestFilesRestartRenamed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		glob    string
		lagging bool
	}{
		{"lagging", "*.log", true},
		{"lagging/rotated-names-match", "app.log*", true},
		{"down", "*.log", false},
		{"down/rotated-names-match", "app.log*", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			restartRenamed(t, tt.glob, tt.lagging)
		})
	}
}

func restartRenamed(t *testing.T, glob string, lagging bool) {
	const big, small = 400000, 1000 // lines; big is many reads' worth
	n := big + 3*small
	if !lagging {
		n += small
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w := appendFile(t, path)
	defer func() { w.Close() }()
	c := newCollector(t, n)
	opts := FileOptions{Rescan: 50 * time.Millisecond, Logger: testLogger(t)}
	globs := []string{filepath.Join(dir, glob)}
	stop := c.start(NewFiles(globs, nil, opts))
	i := 0
	write := func(f *os.File, k int) {
		var buf, line []byte
		for range k {
			i++
			line = numbered(line, i)
			buf = append(buf, line...)
		}
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	rotate := func() *os.File {
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		return appendFile(t, path)
	}
	var next *os.File
	if lagging {
		// The collector takes no line while c.mu is held: the follower
		// reads the start of the big file, then waits to deliver it while
		// the file is rotated. It then reads both files a chunk at a time.
		c.mu.Lock()
		write(w, big)
		next = rotate()
		write(next, small)
		c.mu.Unlock()
		c.waitLine(big + 1)
		stop()
	} else {
		write(w, small)
		c.waitCount(small)
		stop()
		write(w, big)
		next = rotate()
		write(next, small)
	}
	stop = c.start(NewFiles(globs, c.positions(), opts))
	write(w, small) // late lines through the renamed file's descriptor
	write(next, small)
	c.waitCount(n)
	stop()
	next.Close()
	c.check(1, n)
}
