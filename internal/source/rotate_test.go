package source

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// rotate rotates path, being written through w, and returns what to write
// through from then on. c is the reader, for rotations that lose unread lines.
type rotate func(t *testing.T, path string, w *os.File, c *collector, written int) *os.File

// renameRotate is logrotate's "create": the file is moved away and a new
// one created, and the writer reopens it. Nothing waits for the reader.
func renameRotate(t *testing.T, path string, w *os.File, _ *collector, written int) *os.File {
	if err := os.Rename(path, path+"."+strconv.Itoa(written)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return appendFile(t, path)
}

// copyTruncate is logrotate's "copytruncate": the file is copied and then
// truncated in place while the writer goes on appending. Lines the reader
// has not read when the file is truncated are gone for it (they are only
// in the copy), so the rotation waits until the reader has caught up; the
// writer then goes on at full speed, which is the race under test: the
// file may grow past the old offset before the reader looks again.
func copyTruncate(t *testing.T, path string, w *os.File, c *collector, written int) *os.File {
	c.waitCount(written)
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(path + ".copy" + strconv.Itoa(written))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestFilesRotation writes 50,000 numbered lines at full speed, rotating
// the file every 10,000 lines, and checks that every line arrives exactly
// once; with restart, the reader is also stopped in the middle (while the
// writer goes on) and started again from its last position.
//
// When the rotated names do not match the globs, a file renamed away before
// the reader ever opened it cannot be found: such a test waits, before a
// rename, until the reader has opened the current file (it has delivered
// its first line). Before a restart, the reader must be done with the
// rotated files, which a new run would take as old: the test waits for
// their lines and for the first line of the current file. Neither waits
// for the reader to catch up with the writer.
func TestFilesRotation(t *testing.T) {
	tests := []struct {
		name    string
		rot     rotate
		glob    string
		restart bool
	}{
		{"rename", renameRotate, "*.log", false},
		{"rename/rotated-names-match", renameRotate, "app.log*", false},
		{"copytruncate", copyTruncate, "*.log", false},
		{"rename/restart", renameRotate, "*.log", true},
		{"rename/rotated-names-match/restart", renameRotate, "app.log*", true},
		{"copytruncate/restart", copyTruncate, "*.log", true},
	}
	for _, poll := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if poll {
				name = "poll/" + name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				stressRotation(t, tt.rot, tt.glob, poll, tt.restart)
			})
		}
	}
}

func stressRotation(t *testing.T, rot rotate, glob string, poll, restart bool) {
	const n, every = 50000, 10000
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w := appendFile(t, path)
	c := newCollector(t, n)
	opts := FileOptions{Rescan: 50 * time.Millisecond, Poll: poll, Logger: testLogger(t)}
	globs := []string{filepath.Join(dir, glob)}
	unmatched := glob == "*.log" // rotated files are not found under their new names
	stop := c.start(NewFiles(globs, nil, opts))
	restarted := make(chan struct{})
	seg := 1 // first line of the current file
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = numbered(buf, i)
		if _, err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
		switch {
		case restart && i == n/2:
			c.waitCount(seg - 1)
			c.waitLine(seg)
			go func() { // while the writer goes on
				stop()
				stop = c.start(NewFiles(globs, c.positions(), opts))
				close(restarted)
			}()
		case i%every == 0 && i < n:
			if restart && i > n/2 {
				<-restarted // a rotation while down loses the unread lines
			}
			if unmatched {
				c.waitLine(seg)
			}
			w = rot(t, path, w, c, i)
			seg = i + 1
		}
	}
	if restart {
		<-restarted
	}
	c.waitCount(n)
	stop()
	w.Close()
	c.check(1, n)
}
