package source

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFilesRotationWhileBusy rotates twice while the follower waits to
// deliver a line (its receiver is busy, as the daemon's pipeline is during
// a flood): the file created by the first rotation is named by the path
// only until the second, and its rotated name does not match the glob.
// The follower must open it meanwhile, and every line arrive once.
func TestFilesRotationWhileBusy(t *testing.T) {
	for _, poll := range []bool{false, true} {
		name := "inotify"
		if poll {
			name = "poll"
		}
		t.Run(name, func(t *testing.T) {
			rotationWhileBusy(t, poll)
		})
	}
}

func rotationWhileBusy(t *testing.T, poll bool) {
	const per = 20000 // lines per file: more than the receiver's buffer
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w := appendFile(t, path)
	c := newCollector(t, 3*per)
	fs := NewFiles([]string{filepath.Join(dir, "*.log")}, nil,
		FileOptions{Rescan: 50 * time.Millisecond, Poll: poll, Logger: testLogger(t)})
	stop := c.start(fs)
	i := 0
	write := func(f *os.File) {
		var buf, line []byte
		for range per {
			i++
			line = numbered(line, i)
			buf = append(buf, line...)
		}
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	rotate := func(old *os.File, n int) *os.File {
		if err := os.Rename(path, path+"."+string(rune('0'+n))); err != nil {
			t.Fatal(err)
		}
		old.Close()
		return appendFile(t, path)
	}
	c.mu.Lock() // the collector takes no line until Unlock
	locked := true
	defer func() {
		if locked {
			c.mu.Unlock()
		}
	}()
	write(w)
	deadline := time.Now().Add(10 * time.Second)
	for len(c.out) < cap(c.out) { // until the follower waits to deliver
		if time.Now().After(deadline) {
			t.Fatal("the follower did not fill its receiver's buffer")
		}
		time.Sleep(time.Millisecond)
	}
	w = rotate(w, 1)
	write(w)
	fi, err := w.Stat()
	if err != nil {
		t.Fatal(err)
	}
	second := idOf(fi)
	deadline = time.Now().Add(10 * time.Second)
	for !fs.reg.claimed(second) {
		if time.Now().After(deadline) {
			t.Fatal("the second file was not opened while the follower waited to deliver a line")
		}
		time.Sleep(time.Millisecond)
	}
	w = rotate(w, 2)
	write(w)
	c.mu.Unlock()
	locked = false
	c.waitCount(3 * per)
	stop()
	w.Close()
	c.check(1, 3*per)
}

// claimed reports whether a follower reads id now.
func (r *registry) claimed(id fileID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.open[id]
	return ok
}

// TestFilesRotationUnseen rotates twice between two looks of a polling
// follower: the file the first rotation created is named by the path only
// until the second, and never while the follower looks. It is found among
// the path's rotated siblings once the follower sees the rotation.
func TestFilesRotationUnseen(t *testing.T) {
	const per = 1000
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path+".0", "an old generation, there before the start\n")
	w := appendFile(t, path)
	c := newCollector(t, 3*per)
	stop := c.start(NewFiles([]string{filepath.Join(dir, "*.log")}, nil,
		FileOptions{Rescan: time.Hour, Poll: true, Logger: testLogger(t)}))
	i := 0
	write := func(f *os.File) {
		var buf, line []byte
		for range per {
			i++
			line = numbered(line, i)
			buf = append(buf, line...)
		}
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	write(w)
	c.waitCount(per)
	for n := 1; n <= 2; n++ { // well within pollEvery
		if err := os.Rename(path, path+"."+string(rune('0'+n))); err != nil {
			t.Fatal(err)
		}
		w.Close()
		w = appendFile(t, path)
		write(w)
	}
	c.waitCount(3 * per)
	stop()
	w.Close()
	c.check(1, 3*per)
}
