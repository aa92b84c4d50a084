package source

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestFilesRenameBurst is logrotate's "create" against a writer that does
// not reopen at once, as daemons do until their reopen signal is handled:
// the file is renamed and a new one created right after a burst of lines,
// then, for a moment, lines go both to the new file and through the old
// descriptor to the renamed one. Every line must arrive exactly once, those
// written to the renamed file after the follower moved to the new one
// included. The pauses between rotations are shorter and longer than the
// follower's polling. With restart, the reader is stopped once, when it has
// caught up, and started again from the last positions it gave: those of
// lines read from a renamed file must resume the file at the path.
func TestFilesRenameBurst(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pause   time.Duration
		glob    string
		poll    bool
		restart bool
	}{
		{"pause=0.05s", 50 * time.Millisecond, "*.log", false, false},
		{"pause=0.6s", 600 * time.Millisecond, "*.log", false, false},
		{"pause=0.05s/rotated-names-match", 50 * time.Millisecond, "app.log*", false, false},
		{"pause=0.05s/restart", 50 * time.Millisecond, "*.log", false, true},
		{"pause=0.05s/rotated-names-match/restart", 50 * time.Millisecond, "app.log*", false, true},
		// Polling cannot follow a file renamed away before it was ever looked
		// at: the pause is longer than pollEvery.
		{"pause=0.6s/poll", 600 * time.Millisecond, "*.log", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			renameBurst(t, tt.pause, tt.glob, tt.poll, tt.restart)
		})
	}
}

func renameBurst(t *testing.T, pause time.Duration, glob string, poll, restart bool) {
	gens, burst, late := 27, 9000, 1000 // 270,000 lines
	if testing.Short() {
		gens = 6
	}
	const restartLate = 10
	n := gens * (burst + late)
	if restart {
		n += restartLate
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w := appendFile(t, path)
	c := newCollector(t, n)
	opts := FileOptions{Rescan: 50 * time.Millisecond, Poll: poll, Logger: testLogger(t)}
	globs := []string{filepath.Join(dir, glob)}
	stop := c.start(NewFiles(globs, nil, opts))
	i := 0
	var buf []byte
	write := func(w *os.File) {
		i++
		buf = numbered(buf, i)
		if _, err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	for g := 1; g <= gens; g++ {
		for range burst {
			write(w)
		}
		if g == gens {
			for range late {
				write(w)
			}
			break
		}
		if err := os.Rename(path, path+"."+strconv.Itoa(g)); err != nil {
			t.Fatal(err)
		}
		next := appendFile(t, path)
		// Both descriptors in use, as threads reopen one by one.
		for k := range late {
			if k%2 == 0 {
				write(w)
			} else {
				write(next)
			}
		}
		if restart && g == gens/2 {
			// The last lines read come from the renamed file.
			c.waitCount(i)
			for range restartLate {
				write(w)
			}
			c.waitCount(i)
			stop()
			stop = c.start(NewFiles(globs, c.positions(), opts))
		}
		w.Close()
		w = next
		// The behaviour under test: the writer's pause between
		// rotations, shorter and longer than the follower's timers.
		time.Sleep(pause)
	}
	w.Close()
	c.waitCount(n)
	stop()
	c.check(1, n)
}
