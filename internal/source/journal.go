//go:build linux && cgo

package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
	"github.com/peerjail/peerjail/internal/logline"
)

const (
	// waitStep bounds a wait for new entries, so that Run notices ctx ending.
	waitStep = 250 * time.Millisecond
	// journalRetry is how often a journal that cannot be read is tried again.
	journalRetry = 5 * time.Second
)

// basicFields are the fields a line carries without JournalOptions.Fields.
var basicFields = []string{"_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_PID"}

// Journal follows journald entries that match any of its matches.
type Journal struct {
	matches []string
	saved   Positions
	o       JournalOptions
	log     *slog.Logger
	// ready, when set, is called once the journal is positioned (tests).
	ready   func()
	started readiness
	retry   time.Duration // journalRetry; shortened by tests
	// retried, when set, is called after each failed try has waited out
	// retry (tests).
	retried func()
}

// NewJournal returns a source for the journal entries matching any of
// matches ("FIELD=value", ORed like journalctl's "+"). The first run starts
// at the end of the journal; with a saved cursor, a run starts right after
// it. saved may be nil.
func NewJournal(matches []string, saved Positions, o JournalOptions) (*Journal, error) {
	if err := checkMatches(matches); err != nil {
		return nil, err
	}
	if saved == nil {
		saved = noPositions
	}
	return &Journal{matches: matches, saved: saved, o: o, log: orDiscard(o.Logger), started: newReadiness(),
		retry: journalRetry}, nil
}

// Name returns "journal:" and the matches joined by "+".
func (j *Journal) Name() string { return journalName(j.matches) }

// Ready is closed once Run has positioned itself in the journal (at its
// tail, or after the saved cursor).
func (j *Journal) Ready() <-chan struct{} { return j.started.ch }

// Run sends entries until ctx ends. A journal that cannot be opened or
// read is warned about once and tried again every journalRetry, on from
// the last entry delivered.
func (j *Journal) Run(ctx context.Context, out chan<- logline.Line) error {
	var f journalState
	for {
		err := j.follow(ctx, out, &f)
		if ctx.Err() != nil {
			return nil
		}
		if !f.failing {
			j.log.Warn("journal unreadable, will retry", "matches", j.matches, "err", err)
			f.failing = true
		}
		j.started.done() // nothing to position: do not hold the daemon's start
		sleep(ctx, j.retry)
		if j.retried != nil {
			j.retried()
		}
	}
}

// journalState is what Run keeps across reopenings of the journal.
type journalState struct {
	cursor  string // of the last entry delivered
	num     int64
	failing bool // the journal could not be read, which was logged
}

// follow opens the journal and delivers entries until ctx ends (nil) or
// reading fails.
func (j *Journal) follow(ctx context.Context, out chan<- logline.Line, f *journalState) error {
	jr, err := j.open()
	if err != nil {
		return err
	}
	defer jr.Close()
	pending, err := j.seek(jr, f.cursor)
	if err != nil {
		return err
	}
	if f.failing {
		j.log.Info("journal readable again", "matches", j.matches)
		f.failing = false
	} else {
		j.log.Info("journal opened", "matches", j.matches, "dir", j.o.Dir)
	}
	if j.ready != nil {
		j.ready()
	}
	j.started.done()
	for ctx.Err() == nil {
		if !pending {
			n, err := jr.Next()
			if err != nil {
				return fmt.Errorf("journal: next entry: %w", err)
			}
			if n == 0 {
				if jr.Wait(waitStep) < 0 { // cannot wait: do not spin
					sleep(ctx, waitStep)
				}
				continue
			}
		}
		pending = false
		l, err := j.entry(jr)
		if err != nil {
			j.log.Warn("journal entry skipped", "err", err)
			continue
		}
		f.num++
		l.Number = f.num
		if !send(ctx, out, l) {
			return nil
		}
		f.cursor = l.Position
	}
	return nil
}

// Watching returns the matches, the journal being what is read.
func (j *Journal) Watching() []string { return append([]string(nil), j.matches...) }

func (j *Journal) open() (*sdjournal.Journal, error) {
	var jr *sdjournal.Journal
	var err error
	if j.o.Dir != "" {
		jr, err = sdjournal.NewJournalFromDir(j.o.Dir)
	} else {
		jr, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// Large messages are stored compressed and cut at 64 KiB unless asked:
	// ask for enough to tell an oversized one.
	err = jr.SetDataThreshold(uint64(MaxLine + len("MESSAGE=") + 1))
	for i, m := range j.matches {
		if i > 0 && err == nil {
			err = jr.AddDisjunction()
		}
		if err == nil {
			err = jr.AddMatch(m)
		}
	}
	if err != nil {
		jr.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return jr, nil
}

// seek positions the journal before the first entry to deliver: after
// cursor, else after the saved one. pending is true when that entry is
// already the current one.
func (j *Journal) seek(jr *sdjournal.Journal, cursor string) (pending bool, err error) {
	c, ok := cursor, cursor != ""
	if !ok {
		c, ok = j.saved(journalSource)
	}
	if ok && c != "" {
		if err := jr.SeekCursor(c); err != nil {
			j.log.Warn("saved journal cursor unusable, starting at the end", "err", err)
		} else {
			n, err := jr.Next()
			if err != nil {
				return false, fmt.Errorf("journal: next entry: %w", err)
			}
			// The saved entry was delivered already; when it is gone (vacuumed),
			// the entry found instead is a new one.
			return n > 0 && jr.TestCursor(c) != nil, nil
		}
	}
	if err := jr.SeekTail(); err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	// SeekTail leaves no entry current, and Next from there does not move
	// onto later entries on every systemd version: step back onto the last
	// entry. Without any matching entry, start at the head: all is new.
	n, err := jr.Previous()
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	if n == 0 {
		if err := jr.SeekHead(); err != nil {
			return false, fmt.Errorf("journal: %w", err)
		}
	}
	return false, nil
}

// entry reads the current entry.
func (j *Journal) entry(jr *sdjournal.Journal) (logline.Line, error) {
	l := logline.Line{Source: journalSource, TimeIsExact: true}
	var usec uint64
	var err error
	if j.o.Fields {
		var e *sdjournal.JournalEntry
		if e, err = jr.GetEntry(); err == nil {
			l.Fields, l.Position, usec = e.Fields, e.Cursor, e.RealtimeTimestamp
			l.Text = append([]byte{}, e.Fields["MESSAGE"]...)
		}
	} else {
		l.Text, l.Fields, err = basicEntry(jr)
		if err == nil {
			usec, err = jr.GetRealtimeUsec()
		}
		if err == nil {
			l.Position, err = jr.GetCursor()
		}
	}
	if err != nil {
		return logline.Line{}, fmt.Errorf("journal: %w", err)
	}
	l.Time = time.UnixMicro(int64(usec))
	if len(l.Text) > MaxLine {
		l.Text = nil
		delete(l.Fields, "MESSAGE")
	}
	return l, nil
}

// basicEntry reads MESSAGE and the basic fields of the current entry. An
// entry without MESSAGE has an empty text.
func basicEntry(jr *sdjournal.Journal) ([]byte, map[string]string, error) {
	fields := make(map[string]string, len(basicFields)+1)
	text := []byte{}
	msg, err := jr.GetDataBytes("MESSAGE")
	switch {
	case err == nil:
		text, _ = bytes.CutPrefix(msg, []byte("MESSAGE="))
		fields["MESSAGE"] = string(text)
	case !errors.Is(err, syscall.ENOENT):
		return nil, nil, err
	}
	for _, f := range basicFields {
		v, err := jr.GetDataValue(f)
		switch {
		case err == nil:
			fields[f] = v
		case !errors.Is(err, syscall.ENOENT):
			return nil, nil, err
		}
	}
	return text, fields, nil
}

// openJournal opens and closes the system journal, to tell whether it can
// be read.
func openJournal() error {
	jr, err := sdjournal.NewJournal()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return jr.Close()
}
