package source

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/peerjail/peerjail/internal/logline"
)

func runStdin(t *testing.T, r io.Reader) []logline.Line {
	t.Helper()
	out := make(chan logline.Line)
	errc := make(chan error, 1)
	go func() { errc <- NewStdin(r).Run(context.Background(), out); close(out) }()
	var got []logline.Line
	for l := range out {
		got = append(got, l) // kept as sent: the texts must stay valid
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

func TestStdinLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb\r\n\nlast", []string{"a", "b", "", "last"}},
		{"\x00\xff\n", []string{"\x00\xff"}},
		{strings.Repeat("long line ", 20000) + "\nshort\n", []string{strings.Repeat("long line ", 20000), "short"}},
	}
	for _, tt := range tests {
		got := runStdin(t, strings.NewReader(tt.in))
		if len(got) != len(tt.want) {
			t.Fatalf("%.20q: got %d lines, want %d", tt.in, len(got), len(tt.want))
		}
		for i, l := range got {
			if string(l.Text) != tt.want[i] || l.Text == nil || l.Source != "-" || l.Position != "" ||
				l.Number != int64(i+1) || l.Time.IsZero() {
				t.Errorf("%.20q line %d: %+.40v", tt.in, i+1, l)
			}
		}
	}
}

func TestStdinOversized(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB")
	}
	in := io.MultiReader(strings.NewReader("before\n"), bytes.NewReader(bytes.Repeat([]byte{'x'}, MaxLine+1)),
		strings.NewReader("\nafter\n"))
	got := runStdin(t, in)
	if len(got) != 3 || string(got[0].Text) != "before" || !Oversized(got[1]) || string(got[2].Text) != "after" {
		t.Errorf("got %d lines, want before, oversized, after", len(got))
	}
}

// TestStdinCancel: Run returns when ctx ends, even while a read blocks.
func TestStdinCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	out := make(chan logline.Line)
	go func() { errc <- NewStdin(r).Run(ctx, out) }()
	// The pipe's Write returns once Run has read the line, and the line
	// arrives: Run is in its loop, and its next read blocks on the empty pipe.
	if _, err := w.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if l := <-out; string(l.Text) != "first" {
		t.Fatalf("got %q, want first", l.Text)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run blocked after its context ended")
	}
}

// TestStdinJoinsReader: on a pipe, whose reads a deadline can end, Run
// returns only once its reading goroutine has ended, a read blocked on
// the pipe included.
func TestStdinJoinsReader(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	opt := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan logline.Line, 1)
	errc := make(chan error, 1)
	go func() { errc <- NewStdin(r).Run(ctx, out) }()
	if _, err := w.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if l := <-out; string(l.Text) != "one" {
		t.Fatalf("got %q, want one", l.Text)
	}
	cancel() // the reader is now blocked on the empty pipe
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
	goleak.VerifyNone(t, opt)
}
