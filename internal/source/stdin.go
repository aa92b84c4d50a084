package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// arenaSize is how much line text shares one allocation.
const arenaSize = 64 << 10

// stdin reads lines from a stream, such as a pipe, until its end.
type stdin struct{ r io.Reader }

// NewStdin returns a source reading lines from r ("-", pipes). Its lines
// have no Position: a stream cannot be resumed. Run returns nil at the end
// of r.
func NewStdin(r io.Reader) Live { return &stdin{r: r} }

func (s *stdin) Name() string { return "stdin" }

// Run reads in a goroutine of its own, so that it returns when ctx ends
// even while a read blocks. When r is a file that takes deadlines (a pipe
// or FIFO; standard input is made one, see stdinFile), the end of ctx
// ends that read, and Run returns only once the goroutine has ended; so it
// does for a regular file, whose reads do not wait. A read of any other
// reader (a terminal) cannot be interrupted: its goroutine ends with it.
func (s *stdin) Run(ctx context.Context, out chan<- logline.Line) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, joined := s.r, false
	if f, ok := s.r.(*os.File); ok {
		if f == os.Stdin {
			if d := stdinFile(); d != os.Stdin {
				defer d.Close() // the duplicate is ours, standard input is not
				f = d
			}
		}
		if f.SetReadDeadline(time.Time{}) == nil {
			stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
			defer stop()
			r, joined = f, true
		} else if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			r, joined = f, true // a read of a regular file does not wait
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.read(ctx, r, out) }()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return nil // the read failed at the deadline set when ctx ended
		}
		return err
	case <-ctx.Done():
		if joined {
			<-done
		}
		return nil
	}
}

func (s *stdin) read(ctx context.Context, in io.Reader, out chan<- logline.Line) error {
	r := NewReader(in)
	var arena []byte
	for {
		text, err := r.Next()
		l := logline.Line{Source: "-", Number: r.Line(), Time: time.Now()}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, ErrOversized):
			l.Oversized = true
		case err != nil:
			return fmt.Errorf("read standard input: %w", err)
		default:
			if arena == nil || len(text) > cap(arena)-len(arena) {
				arena = make([]byte, 0, max(arenaSize, len(text)))
			}
			start := len(arena)
			arena = append(arena, text...)
			l.Text = arena[start:len(arena):len(arena)]
		}
		if !send(ctx, out, l) {
			return nil
		}
	}
}
