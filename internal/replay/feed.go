package replay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/pipeline"
	"github.com/peerjail/peerjail/internal/source"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// group is a set of inputs read by the same jails: one pipeline source, so
// that the merged lines of its inputs travel in full batches.
type group struct {
	name  string
	jails []int     // indexes into the engine's jails; nil means all
	ref   time.Time // latest modification time of its inputs
	// pattern and skew are what the merge dates lines with: the jails'
	// common datepattern ("" when they differ) and their largest
	// max_clock_skew.
	pattern string
	skew    time.Duration
	src     *pipeline.Source
}

// cursor is one input being merged: a log file or a journal range, with
// its current line and the time that line is merged by.
type cursor struct {
	order int // place among the inputs: breaks ties, so equal times keep the inputs' order
	grp   *group
	name  string
	size  int64
	cur   logline.Line // Text is valid until the next read
	bad   bool         // cur could not be read (oversized)
	key   time.Time
	// read reads the next line into cur, bad and key; io.EOF at the end.
	read   func() error
	offset func() int64
	close  func() error
	// lone is the reader of a file read alone and undated: feedLone reads
	// it straight into batches.
	lone *source.Reader
}

// window limits the lines replayed to [since, until]; zero ends are open.
type window struct{ since, until time.Time }

func (w window) before(t time.Time) bool { return !w.since.IsZero() && t.Before(w.since) }
func (w window) after(t time.Time) bool  { return !w.until.IsZero() && t.After(w.until) }
func (w window) open() bool              { return w.since.IsZero() && w.until.IsZero() }

// openFile opens a log for the merge. keyed says whether each line must be
// dated to be merged (several inputs, or a time window): a lone file is read
// in its own order, at no cost besides reading.
func openFile(ctx context.Context, path string, order int, g *group, keyed bool, w window) (*cursor, error) {
	ref := time.Now()
	if path != "-" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		ref = st.ModTime()
	}
	rc, size, err := source.OpenFileContext(ctx, path)
	if err != nil {
		return nil, err
	}
	var det *timestamp.Detector
	if keyed {
		det, err = timestamp.NewDetector(timestamp.Options{Pattern: g.pattern, Reference: func() time.Time { return ref }})
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if ref.After(g.ref) {
		g.ref = ref
	}
	r := source.NewReader(rc)
	c := &cursor{order: order, grp: g, name: path, size: size, offset: r.Offset, close: rc.Close}
	if !keyed {
		c.lone = r
	}
	c.read = func() error {
		for {
			text, err := r.Next()
			c.bad = errors.Is(err, source.ErrOversized)
			switch {
			case errors.Is(err, io.EOF):
				return io.EOF
			case err != nil && !c.bad:
				if interrupted(ctx, err) {
					return context.Canceled
				}
				return fmt.Errorf("%s: line %d: %w", path, r.Line()+1, err)
			}
			c.cur = logline.Line{Text: text, Source: path, Number: r.Line()}
			if det == nil {
				return nil
			}
			// A line without a time, or with one past its file's last
			// write (a clock jump, never a real time), keeps its
			// predecessor's: it stays where it is among its file's lines.
			if t, ok := det.Find(text); ok && !c.bad && t.Sub(ref) <= g.skew {
				c.key = t
			}
			switch {
			case w.before(c.key):
				continue
			case w.after(c.key):
				return io.EOF
			}
			return nil
		}
	}
	return c, nil
}

// interrupted says whether a read error is the replay being stopped. The
// file was opened with the replay's context and the feed runs under a
// child of it: cancelling the parent ends the read before the child is
// cancelled too, so the error itself is asked as well as ctx.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled)
}

// mergeHeap orders cursors by their current line's time.
type mergeHeap []*cursor

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.key.Equal(b.key) {
		return a.key.Before(b.key)
	}
	return a.order < b.order
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *mergeHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// feed merges the inputs by time into batches and closes in at the end:
// each input's lines in their own order, the next line always the earliest
// of the inputs' current ones. An input that breaks off (a truncated .gz, a
// read error) is reported to warn and the others go on: what was read
// still counts.
func feed(ctx context.Context, cursors []*cursor, in chan<- *pipeline.Batch, bar *progressBar, warn io.Writer) error {
	defer close(in)
	defer bar.done()
	if len(cursors) == 1 && cursors[0].lone != nil {
		return feedLone(ctx, cursors[0], in, bar, warn)
	}
	h := make(mergeHeap, 0, len(cursors))
	defer func() {
		for _, c := range h {
			c.close()
		}
	}()
	var finished int64 // sizes of the inputs read to their end
	stopped := false   // an input's read was cut short by the replay's end
	advance := func(c *cursor) bool {
		err := c.read()
		if err == nil {
			return true
		}
		c.close()
		switch {
		case errors.Is(err, io.EOF):
			finished += c.size
		case interrupted(ctx, err):
			stopped = true
		default:
			fmt.Fprintf(warn, "peerjail: replay: %v (going on with the other inputs)\n", err)
		}
		return false
	}
	for _, c := range cursors {
		if ctx.Err() == nil && advance(c) {
			h = append(h, c)
		} else if ctx.Err() != nil {
			c.close()
		}
	}
	heap.Init(&h)
	var b *pipeline.Batch
	// The engine takes every batch until in is closed, also once ctx has
	// ended: what was read is counted.
	send := func() {
		in <- b
		b = nil
		if bar != nil {
			read := finished
			for _, c := range h {
				read += c.offset()
			}
			bar.update(read)
		}
	}
	for len(h) > 0 {
		c := h[0]
		if b != nil && b.Source() != c.grp.src {
			send()
		}
		if b == nil {
			b = pipeline.NewBatch(c.grp.src)
		}
		if c.bad {
			b.AddBad(c.cur)
		} else {
			b.Add(c.cur)
		}
		full := b.Full()
		if full {
			send()
		}
		switch {
		case !advance(c):
			heap.Pop(&h)
		case len(h) > 1:
			heap.Fix(&h, 0)
		}
		// Once a batch, not once a line: asking a cancelable context
		// takes a lock. A read that waits (a FIFO) ends by itself on ctx.
		if full && ctx.Err() != nil {
			break
		}
	}
	if b != nil && b.Len() > 0 {
		send()
	}
	if err := ctx.Err(); err != nil || !stopped {
		return err
	}
	return context.Canceled
}

// feedLone reads a lone file into batches: with nothing to merge it with,
// no line needs dating here, and this loop is the tightest one, so that
// replaying one file costs no more than reading it.
func feedLone(ctx context.Context, c *cursor, in chan<- *pipeline.Batch, bar *progressBar, warn io.Writer) error {
	defer c.close()
	r := c.lone
	b := pipeline.NewBatch(c.grp.src)
	send := func() {
		in <- b
		bar.update(r.Offset())
		b = pipeline.NewBatch(c.grp.src)
	}
	for {
		text, err := r.Next()
		switch {
		case err == nil:
			b.Add(logline.Line{Text: text, Source: c.name, Number: r.Line()})
		case errors.Is(err, io.EOF):
			if b.Len() > 0 {
				send()
			}
			return nil
		case errors.Is(err, source.ErrOversized):
			b.AddBad(logline.Line{Source: c.name, Number: r.Line()})
		case err != nil:
			if b.Len() > 0 {
				send()
			}
			if interrupted(ctx, err) {
				return context.Canceled
			}
			fmt.Fprintf(warn, "peerjail: replay: %s: line %d: %v\n", c.name, r.Line()+1, err)
			return nil
		}
		if b.Full() {
			send()
		}
	}
}
