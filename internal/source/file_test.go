package source

import (
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// wantLine is a line as the follower must deliver it.
type wantLine struct {
	text      string
	oversized bool
	end       int64 // file offset after the line
}

// splitLines is the reference: complete lines only, a line whose text
// reaches max bytes is oversized, one \r before the \n is dropped.
func splitLines(data []byte, limit int) []wantLine {
	var want []wantLine
	start := 0
	for i, c := range data {
		if c != '\n' {
			continue
		}
		text := data[start:i]
		w := wantLine{end: int64(i + 1), oversized: len(text) >= limit}
		if !w.oversized {
			w.text = string(bytes.TrimSuffix(text, []byte{'\r'}))
		}
		want = append(want, w)
		start = i + 1
	}
	return want
}

// followPieces appends data to a file in pieces of the given sizes,
// letting a follower read after each, and returns what it delivered.
func followPieces(t *testing.T, path string, data []byte, sizes []byte, limit int) []logline.Line {
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, id, err := openRegular(path)
	if err != nil {
		t.Fatal(err)
	}
	fl := &follower{path: path, max: limit, reg: newRegistry(), log: orDiscard(nil)}
	fl.use(f, id, 0, skipNone)
	defer f.Close()
	out := make(chan logline.Line, len(data)+1)
	least := len(data) / 64 // at most about 64 pieces: each costs syscalls
	for k := 0; len(data) > 0; k++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, max(least, 1+int(sizes[k%len(sizes)])))
		}
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
		fl.readAvailable(context.Background(), out)
	}
	close(out)
	var got []logline.Line
	for l := range out {
		got = append(got, l)
	}
	return got
}

func checkFollowed(t *testing.T, data []byte, got []logline.Line, limit int) {
	t.Helper()
	want := splitLines(data, limit)
	if len(got) != len(want) {
		t.Fatalf("%q: got %d lines, want %d", data, len(got), len(want))
	}
	for i, w := range want {
		l := got[i]
		p, err := parseFilePos(l.Position)
		switch {
		case Oversized(l) != w.oversized || (!w.oversized && string(l.Text) != w.text):
			t.Fatalf("%q line %d: got %q (oversized %v), want %q (oversized %v)",
				data, i+1, l.Text, Oversized(l), w.text, w.oversized)
		case err != nil || p.off != w.end || !p.hasSum:
			t.Fatalf("%q line %d: position %q, want offset %d", data, i+1, l.Position, w.end)
		case p.sum != crc32.Checksum(data[max(0, w.end-fpLen):w.end], castagnoli):
			t.Fatalf("%q line %d: position %q has a wrong checksum", data, i+1, l.Position)
		case l.Number != int64(i+1):
			t.Fatalf("%q line %d: numbered %d", data, i+1, l.Number)
		}
	}
}

func TestFollowerPieces(t *testing.T) {
	tests := []struct {
		data  string
		sizes []byte
	}{
		{"a\nb\n", nil},
		{"a\nb\npartial", []byte{0}},
		{"0123456789abcdefghijklmnopqrstuvwxyz\nshort\n", []byte{3, 7}},
		{"exactly thirty-one bytes long..\nthirty-two bytes long, oversized\n", []byte{100}},
		{"\r\n\n\r\r\n", []byte{0}},
		{string(bytes.Repeat([]byte("x"), 200)) + "\n" + string(bytes.Repeat([]byte("y\n"), 100)), []byte{5, 60, 1}},
	}
	for _, tt := range tests {
		got := followPieces(t, filepath.Join(t.TempDir(), "f.log"), []byte(tt.data), tt.sizes, 32)
		checkFollowed(t, []byte(tt.data), got, 32)
	}
}

// FuzzFollower feeds a file in pieces to a follower and compares what it
// delivers with a plain split of the bytes.
func FuzzFollower(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), []byte{0, 1})
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789\nok\n"), []byte{9})
	f.Add([]byte("\n\n\n"), []byte{})
	f.Add(bytes.Repeat([]byte("line of text\n"), 40), []byte{3, 200, 17})
	path := filepath.Join(f.TempDir(), "f.log") // one at a time: a fuzz process runs its inputs in turn
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		if len(data) > 4096 { // 1-byte pieces of more cost much and find nothing new
			return
		}
		got := followPieces(t, path, data, sizes, 32)
		checkFollowed(t, data, got, 32)
	})
}

// TestFollowerTruncatedAndRegrown: a file truncated and rewritten past the
// offset read so far, before the follower looks again (copytruncate with
// a fast writer), is read again from its start.
func TestFollowerTruncatedAndRegrown(t *testing.T) {
	tests := []struct{ name, before, after string }{
		{"shorter", "line 1\nline 2\n", "new 1\n"},
		{"longer", "line 1\nline 2\n", "new 1\nnew 2\nnew 3\n"},
		{"same size", "line 1\nline 2\n", "new 01\nnew 02\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.log")
			writeFile(t, path, tt.before)
			f, id, err := openRegular(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fl := &follower{path: path, max: MaxLine, reg: newRegistry(), log: orDiscard(nil)}
			fl.use(f, id, 0, skipNone)
			out := make(chan logline.Line, 10)
			fl.readAvailable(context.Background(), out)
			writeFile(t, path, tt.after) // O_TRUNC: same file, new bytes
			fl.readAvailable(context.Background(), out)
			close(out)
			var got []string
			for l := range out {
				got = append(got, string(l.Text))
			}
			want := splitLines([]byte(tt.before+tt.after), MaxLine)
			if len(got) != len(want) {
				t.Fatalf("got %q", got)
			}
			for i := range want {
				if got[i] != want[i].text {
					t.Errorf("line %d: got %q, want %q", i+1, got[i], want[i].text)
				}
			}
		})
	}
}
