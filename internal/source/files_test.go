package source

import (
	"context"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// lines collects what a source delivers, in order.
type lines struct {
	t   *testing.T
	out chan logline.Line
}

func runFiles(t *testing.T, fs *Files) (*lines, func()) {
	t.Helper()
	if fs.o.Logger == nil {
		fs.log = testLogger(t)
	}
	scanned := make(chan struct{})
	first := true
	counted := fs.scanned
	fs.scanned = func() {
		if counted != nil {
			counted()
		}
		if first {
			first = false
			close(scanned)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &lines{t: t, out: make(chan logline.Line, 1024)}
	errc := make(chan error, 1)
	go func() { errc <- fs.Run(ctx, l.out) }()
	select {
	case <-scanned:
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	}
	return l, func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
}

// next returns the next line, failing the test when none comes.
func (l *lines) next() logline.Line {
	l.t.Helper()
	select {
	case x := <-l.out:
		return x
	case <-time.After(60 * time.Second): // a 64 MiB line under -race on a loaded host takes a while
		l.t.Fatal("no line arrived")
		return logline.Line{}
	}
}

// expect asserts the next texts, "<oversized>" standing for an oversized line.
func (l *lines) expect(want ...string) []logline.Line {
	l.t.Helper()
	var got []logline.Line
	for _, w := range want {
		x := l.next()
		text := string(x.Text)
		if Oversized(x) {
			text = "<oversized>"
		}
		if text != w {
			l.t.Fatalf("line %d: got %q, want %q", len(got)+1, text, w)
		}
		got = append(got, x)
	}
	return got
}

// none asserts that no line arrives for a while.
func (l *lines) none() {
	l.t.Helper()
	select {
	case x := <-l.out:
		l.t.Fatalf("unexpected line %q from %s", x.Text, x.Source)
	case <-time.After(300 * time.Millisecond):
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendString(t *testing.T, path, s string) {
	t.Helper()
	f := appendFile(t, path)
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

var fast = FileOptions{Rescan: 50 * time.Millisecond}

// TestFilesStartAtEnd: a file there at the start without a saved position
// is read from its end; a line being written then is delivered whole.
func TestFilesStartAtEnd(t *testing.T) {
	long := strings.Repeat("x", tailWindow+10)
	tests := []struct {
		name, before, after string
		want                []string
	}{
		{"empty", "", "new 1\nnew 2\n", []string{"new 1", "new 2"}},
		{"whole lines", "old 1\nold 2\n", "new 1\n", []string{"new 1"}},
		{"line in progress", "old 1\npart", "ly done\nnew 1\n", []string{"partly done", "new 1"}},
		{"one line in progress", "part", "ly done\n", []string{"partly done"}},
		{"start of line too far back", "old\n" + long, "tail\nnew 1\n", []string{"new 1"}},
	}
	for _, poll := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name+"/poll="+strconv.FormatBool(poll), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				path := filepath.Join(dir, "a.log")
				writeFile(t, path, tt.before)
				o := fast
				o.Poll = poll
				got, stop := runFiles(t, NewFiles([]string{filepath.Join(dir, "*.log")}, nil, o))
				defer stop()
				appendString(t, path, tt.after)
				got.expect(tt.want...)
				got.none()
			})
		}
	}
}

// TestFilesNewFile: a file that appears while running is read from its
// start; files the globs do not match are not read.
func TestFilesNewFile(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run("poll="+strconv.FormatBool(poll), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			o := FileOptions{Rescan: time.Hour, Poll: poll} // inotify alone must find it
			if poll {
				o.Rescan = 50 * time.Millisecond
			}
			got, stop := runFiles(t, NewFiles([]string{filepath.Join(dir, "*.log")}, nil, o))
			defer stop()
			writeFile(t, filepath.Join(dir, "other.txt"), "not ours\n")
			writeFile(t, filepath.Join(dir, "b.log"), "b 1\nb 2\n")
			ls := got.expect("b 1", "b 2")
			if ls[1].Source != filepath.Join(dir, "b.log") || ls[1].Number != 2 || ls[1].TimeIsExact || ls[1].Time.IsZero() {
				t.Errorf("line: %+v", ls[1])
			}
			appendString(t, filepath.Join(dir, "b.log"), "b 3\n")
			got.expect("b 3")
			got.none()
		})
	}
}

// posOf builds the position after the first off bytes of path.
func posOf(t *testing.T, path string, off int64, withSum bool) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	p := filePos{id: idOf(fi), off: off, hasSum: withSum}
	p.sum = crc32.Checksum(b[max(0, off-fpLen):off], castagnoli)
	return p.String()
}

// TestFilesSavedPosition: reading resumes at the saved position of the
// file, and starts over when the file is not the one the position was
// taken in (rotated, truncated, rewritten) while we were away.
func TestFilesSavedPosition(t *testing.T) {
	const content = "line 1\nline 2\n"
	tests := []struct {
		name string
		pos  func(t *testing.T, path string) string
		want []string
	}{
		{"resume", func(t *testing.T, p string) string { return posOf(t, p, 7, true) }, []string{"line 2", "new"}},
		{"resume at end", func(t *testing.T, p string) string { return posOf(t, p, 14, true) }, []string{"new"}},
		{"resume without sum", func(t *testing.T, p string) string { return posOf(t, p, 7, false) }, []string{"line 2", "new"}},
		{"other file", func(t *testing.T, p string) string { return "1:2:7:0" }, []string{"line 1", "line 2", "new"}},
		{"beyond its end", func(t *testing.T, p string) string {
			fi, _ := os.Stat(p)
			return filePos{id: idOf(fi), off: 140}.String()
		}, []string{"line 1", "line 2", "new"}},
		{"rewritten", func(t *testing.T, p string) string {
			pos := posOf(t, p, 7, true)
			f, _ := os.OpenFile(p, os.O_WRONLY, 0)
			f.WriteAt([]byte("LINE 1\n"), 0) // same inode, same size, other bytes
			f.Close()
			return pos
		}, []string{"LINE 1", "line 2", "new"}},
		{"not at a line start without sum", func(t *testing.T, p string) string { return posOf(t, p, 5, false) },
			[]string{"line 1", "line 2", "new"}},
		{"unreadable position", func(t *testing.T, p string) string { return "junk" }, []string{"new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, content)
			pos := tt.pos(t, path)
			saved := func(s string) (string, bool) { return pos, s == path }
			got, stop := runFiles(t, NewFiles([]string{filepath.Join(dir, "*.log")}, saved, fast))
			defer stop()
			appendString(t, path, "new\n")
			ls := got.expect(tt.want...)
			got.none()
			if last := ls[len(ls)-1].Position; last != posOf(t, path, int64(len(content)+4), true) {
				t.Errorf("last position %q, want the end of the file", last)
			}
		})
	}
}

// TestFilesOversizedAndBinary: a line longer than the limit arrives as one
// oversized line whatever the reads look like; bytes pass through as they are.
func TestFilesOversizedAndBinary(t *testing.T) {
	const max = 1024
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "")
	fs := NewFiles([]string{path}, nil, fast)
	fs.maxLine = max
	got, stop := runFiles(t, fs)
	fits := strings.Repeat("y", max-1)
	steps := []string{"short\n", strings.Repeat("x", 3000), strings.Repeat("x", 3000) + "\nafter\n",
		fits + "\n", strings.Repeat("z", max) + "\n", "\x00\xff\xfe\r\n", "\n", "crlf\r\n"}
	for _, s := range steps {
		appendString(t, path, s)
		// The behaviour under test: each piece arrives in a read of its
		// own (a line cut mid-way, one past the limit). The lines expected
		// are the same however the reads fall; the pause makes these
		// reads the likely ones.
		time.Sleep(20 * time.Millisecond)
	}
	ls := got.expect("short", "<oversized>", "after", fits, "<oversized>", "\x00\xff\xfe", "", "crlf")
	if ls[6].Text == nil {
		t.Error("an empty line has a nil Text")
	}
	// The position after an oversized line resumes right after it.
	stop()
	saved := func(string) (string, bool) { return ls[1].Position, true }
	fs = NewFiles([]string{path}, saved, fast)
	fs.maxLine = max
	got, stop = runFiles(t, fs)
	defer stop()
	got.expect("after", fits, "<oversized>")
}

// TestFilesOversizedAtMaxLine uses the real limit once.
func TestFilesOversizedAtMaxLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "")
	got, stop := runFiles(t, NewFiles([]string{path}, nil, fast))
	defer stop()
	big := make([]byte, MaxLine+10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	appendString(t, path, "before\n"+string(big)+"\nafter\n")
	got.expect("before", "<oversized>", "after")
}

func TestFilesBadGlob(t *testing.T) {
	err := NewFiles([]string{"/var/log/[.log"}, nil, FileOptions{}).Run(context.Background(), nil)
	if !errors.Is(err, filepath.ErrBadPattern) {
		t.Errorf("got %v, want ErrBadPattern", err)
	}
}

func TestFilesName(t *testing.T) {
	fs := NewFiles([]string{"/var/log/ipfs/*.log", "/var/log/x.log"}, nil, FileOptions{})
	if got, want := fs.Name(), "files:/var/log/ipfs/*.log,/var/log/x.log"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
}
