//go:build linux && cgo

package source

import (
	"fmt"
	"io"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
	"github.com/peerjail/peerjail/internal/logline"
)

// JournalRange reads, oldest first, the journal entries that match any of
// its matches and whose realtime stamp lies in a window: for replay, which
// reads what is there and ends, where Journal follows.
type JournalRange struct {
	jr    *sdjournal.Journal
	o     JournalRangeOptions
	j     Journal // for entry
	num   int64
	ended bool
}

// JournalRangeOptions says which entries a JournalRange reads.
type JournalRangeOptions struct {
	// Matches are "FIELD=value", ORed.
	Matches []string
	// Dir, or else Files, are a journal directory or journal files read
	// instead of the local journal (copied from another host).
	Dir   string
	Files []string
	// Since and Until bound the entries' realtime stamps; zero is open.
	Since, Until time.Time
	// Fields fills Line.Fields with every field, as JournalOptions.Fields.
	Fields bool
}

// OpenJournalRange opens the journal positioned at the first entry of the
// window.
func OpenJournalRange(o JournalRangeOptions) (*JournalRange, error) {
	if err := checkMatches(o.Matches); err != nil {
		return nil, err
	}
	var jr *sdjournal.Journal
	var err error
	switch {
	case o.Dir != "":
		jr, err = sdjournal.NewJournalFromDir(o.Dir)
	case len(o.Files) > 0:
		jr, err = sdjournal.NewJournalFromFiles(o.Files...)
	default:
		jr, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	err = jr.SetDataThreshold(uint64(MaxLine + len("MESSAGE=") + 1))
	for i, m := range o.Matches {
		if i > 0 && err == nil {
			err = jr.AddDisjunction()
		}
		if err == nil {
			err = jr.AddMatch(m)
		}
	}
	if err == nil {
		if o.Since.IsZero() {
			err = jr.SeekHead()
		} else {
			err = jr.SeekRealtimeUsec(uint64(max(o.Since.UnixMicro(), 0)))
		}
	}
	if err != nil {
		jr.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &JournalRange{jr: jr, o: o, j: Journal{o: JournalOptions{Fields: o.Fields}}}, nil
}

// Next returns the next entry of the window, io.EOF after the last. Its
// Time is the entry's realtime stamp (TimeIsExact), Number counts from 1,
// and an entry whose message is longer than MaxLine is Oversized.
func (r *JournalRange) Next() (logline.Line, error) {
	for !r.ended {
		n, err := r.jr.Next()
		if err != nil {
			return logline.Line{}, fmt.Errorf("journal: next entry: %w", err)
		}
		if n == 0 {
			break
		}
		l, err := r.j.entry(r.jr)
		if err != nil {
			return logline.Line{}, err
		}
		// Seeking by time lands near Since; entries of other boot or
		// files interleaved around it may be older.
		if !r.o.Since.IsZero() && l.Time.Before(r.o.Since) {
			continue
		}
		if !r.o.Until.IsZero() && l.Time.After(r.o.Until) {
			break
		}
		r.num++
		l.Number = r.num
		l.Oversized = l.Text == nil
		return l, nil
	}
	r.ended = true
	return logline.Line{}, io.EOF
}

// Close releases the journal.
func (r *JournalRange) Close() error { return r.jr.Close() }
