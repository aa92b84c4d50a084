// Package source reads log lines from files, standard input and, in the daemon, journald.
package source

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// MaxLine is the longest line kept. A longer line is still consumed whole
// (so it is never split into several), but its text is dropped and the
// Reader reports it as oversized.
const MaxLine = 64 << 20

// ErrOversized is returned by Next for a line longer than MaxLine.
var ErrOversized = errors.New("line longer than 64 MiB")

// Reader splits a stream into lines. It handles \n and \r\n endings, a last
// line without an ending, and lines of any length.
type Reader struct {
	br   *bufio.Reader
	long []byte
	n    int64 // lines returned
	off  int64 // bytes consumed
}

// NewReader reads lines from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 256<<10)}
}

// Next returns the next line without its ending. The slice is valid until the
// next call. At the end of input it returns io.EOF. For a line longer than
// MaxLine it returns ErrOversized and an empty line; reading may go on.
func (r *Reader) Next() ([]byte, error) {
	r.long = r.long[:0]
	oversized := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.off += int64(len(chunk))
		switch {
		case err == nil:
			if len(r.long) == 0 && !oversized {
				r.n++
				return trimEOL(chunk), nil
			}
			return r.finishLong(chunk, oversized)
		case errors.Is(err, bufio.ErrBufferFull):
			if len(r.long)+len(chunk) > MaxLine {
				oversized = true
				r.long = r.long[:0]
				continue
			}
			if !oversized {
				r.long = append(r.long, chunk...)
			}
		case errors.Is(err, io.EOF):
			if len(chunk) == 0 && len(r.long) == 0 && !oversized {
				return nil, io.EOF
			}
			return r.finishLong(chunk, oversized)
		default:
			return nil, err
		}
	}
}

func (r *Reader) finishLong(chunk []byte, oversized bool) ([]byte, error) {
	r.n++
	if oversized || len(r.long)+len(chunk) > MaxLine {
		r.long = r.long[:0]
		return nil, ErrOversized
	}
	r.long = append(r.long, chunk...)
	return trimEOL(r.long), nil
}

// Line returns the number of the line last returned, from 1.
func (r *Reader) Line() int64 { return r.n }

// Offset returns how many bytes of the (decompressed) stream have been read.
func (r *Reader) Offset() int64 { return r.off }

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// OpenFile opens a log file for reading from its start, decompressing it when
// it is gzip (recognised by its magic bytes, whatever its name). "-" is
// standard input. The returned size is the file's size on disk (0 for stdin),
// for progress reports.
func OpenFile(path string) (rc io.ReadCloser, size int64, err error) {
	return OpenFileContext(context.Background(), path)
}

// OpenFileContext is OpenFile whose reads fail with ctx's error once ctx
// ends, a read waiting on a pipe or FIFO included: endless input (/dev/zero,
// a FIFO whose writer never closes it) stops on Ctrl-C.
func OpenFileContext(ctx context.Context, path string) (rc io.ReadCloser, size int64, err error) {
	var f *os.File
	if path == "-" {
		f = stdinFile()
	} else {
		f, err = os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, 0, fmt.Errorf("%s: is a directory", path)
			}
			size = st.Size()
		}
	}
	cr := &ctxReader{ctx: ctx, f: f}
	// A read blocked on a pipe or FIFO ends at its deadline; a regular file
	// or a device has none, and returns at once anyway.
	cr.stop = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	br := bufio.NewReaderSize(cr, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			cr.Close()
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		return &readCloser{Reader: zr, close: cr.Close}, size, nil
	}
	return &readCloser{Reader: br, close: cr.Close}, size, nil
}

// ctxReader reads f until ctx ends.
type ctxReader struct {
	ctx  context.Context
	f    *os.File
	stop func() bool
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.f.Read(p)
	if err != nil && r.ctx.Err() != nil {
		return n, r.ctx.Err() // the deadline set when ctx ended
	}
	return n, err
}

func (r *ctxReader) Close() error {
	r.stop()
	return r.f.Close()
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
