package pipeline

import (
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/prefilter"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// BatchSize is how many lines travel together between the stages: large
// enough that channel operations vanish in the per-line cost, small enough
// that a live line is not held back (live sources send partial batches).
const BatchSize = 512

// Batch is a run of lines from one source. Feeders fill it with Add and send
// it to Engine.Run, which recycles it.
type Batch struct {
	Lines []logline.Line
	// bad marks lines that could not be read at all (oversized).
	bad []bool
	buf []byte
	// offsets[i] is where line i's text starts in buf.
	offsets []int
	src     *Source
	// idx[line×jails+jail] is 1 + the index in res of the line's result
	// for the jail, or 0 for a Miss (most lines: nothing to store).
	idx  []int32
	res  []result
	done chan struct{}
	// Working memory of match.
	cand  []uint64
	sc    prefilter.Scratch
	msc   filter.Scratch
	times []lineStamp
	// recent is what the batch's last lines began with, for the next
	// line's timestamp (timestamp.Recent).
	recent timestamp.Recent
	gen    uint32
}

type result struct {
	hit     filter.Hit
	outcome filter.Outcome
	at      time.Time
	dated   bool
	read    bool // at is when a live source read the line, not a stamp
	// first marks the result of the first jail of its filter group: what
	// the line teaches (an identity's address, an own identity) is learned
	// once, not once per jail.
	first bool
}

// Source is a registered line source: the jails that read it, the filters
// they run (each once per line, see plan) and the timestamp detectors its
// lines are read with, one per datepattern of its jails.
type Source struct {
	Name   string
	jails  []int // indexes into the engine's jails
	groups []sourceGroup
	// pre picks the groups that can match a line; nil: run them all.
	pre  *prefilter.Set
	dets []*timestamp.Detector
	// detOf[j] is the index in dets of engine jail j's detector.
	detOf []int
	ref   func() time.Time
	// latest is the latest hit time taken in order (replay): the source's
	// own clock, which out-of-order stamps are judged by.
	latest time.Time
}

var batchPool = sync.Pool{New: func() any { return &Batch{} }}

// NewBatch returns an empty batch for lines of src.
func NewBatch(src *Source) *Batch {
	b := batchPool.Get().(*Batch)
	b.src = src
	return b
}

// Add appends a line, copying its text: sources reuse their buffers.
func (b *Batch) Add(l logline.Line) {
	start := len(b.buf)
	b.buf = append(b.buf, l.Text...)
	// Text is re-pointed into buf after the batch is complete (see seal),
	// since appending may move buf.
	l.Text = nil
	b.Lines = append(b.Lines, l)
	b.bad = append(b.bad, false)
	b.offsets = append(b.offsets, start)
}

// AddBad records a line that could not be read (for example one longer than
// source.MaxLine), so that it is counted as unparsed.
func (b *Batch) AddBad(l logline.Line) {
	l.Text = nil
	b.Lines = append(b.Lines, l)
	b.bad = append(b.bad, true)
	b.offsets = append(b.offsets, len(b.buf))
}

// Len returns the number of lines in the batch.
func (b *Batch) Len() int { return len(b.Lines) }

// Full reports whether the batch should be sent.
func (b *Batch) Full() bool { return len(b.Lines) >= BatchSize || len(b.buf) >= 4<<20 }

// seal points each line's Text into the final buffer.
func (b *Batch) seal() {
	for i := range b.Lines {
		end := len(b.buf)
		if i+1 < len(b.offsets) {
			end = b.offsets[i+1]
		}
		b.Lines[i].Text = b.buf[b.offsets[i]:end:end]
	}
}

func (b *Batch) release() {
	if cap(b.buf) > 16<<20 {
		b.buf = nil // do not keep the memory of one giant line around
	}
	b.Lines, b.bad, b.buf, b.res, b.offsets, b.idx = b.Lines[:0], b.bad[:0], b.buf[:0], b.res[:0], b.offsets[:0], b.idx[:0]
	b.src, b.done = nil, nil
	batchPool.Put(b)
}

// Source returns the source the batch's lines came from.
func (b *Batch) Source() *Source { return b.src }
