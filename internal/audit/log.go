package audit

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultMaxSize   = 100_000_000 // 100MB
	DefaultKeep      = 5
	DefaultSyncEvery = 100 * time.Millisecond
)

// Options configure Open; zero values mean the defaults.
type Options struct {
	// MaxSize is the size past which the file is rotated.
	MaxSize int64
	// Keep is how many rotated files are kept (audit.jsonl.1 … .Keep).
	Keep int
	// SyncEvery bounds how often the file is fsynced: records are written
	// to the file when given (a crash of the process loses none), and
	// reach the disk at most SyncEvery later (a power loss loses at most
	// that much).
	SyncEvery time.Duration
	Logger    *slog.Logger
	// Registerer receives peerjail_audit_errors_total and
	// peerjail_audit_dropped_total; nil exports neither.
	Registerer prometheus.Registerer

	syncFile func(*os.File) error // tests: stands in for fsync
}

// Log appends records to the trail. Its methods are safe for concurrent
// use; Write never waits for the disk beyond one write(2).
type Log struct {
	o    Options
	path string
	m    *metrics

	mu      sync.Mutex
	f       *os.File   // nil while it cannot be opened
	size    int64      // of f
	dirty   bool       // written since the last fsync
	retired []*os.File // rotated away, for the syncer to sync and close
	torn    bool       // the last write stopped inside a line
	failing bool       // since the last write error, until a write works
	closed  bool
	buf     []byte
	ends    []int // in buf, where each record's line ends

	wake chan struct{}
	quit chan struct{}
	done sync.WaitGroup
}

// Open starts the trail in dir. It does not fail: a file that cannot be
// opened (a read-only or full disk) is logged and counted, and opened again
// at the next Write.
func Open(dir string, o Options) *Log {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = DefaultSyncEvery
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.syncFile == nil {
		o.syncFile = (*os.File).Sync
	}
	l := &Log{o: o, path: filepath.Join(dir, FileName), m: newMetrics(o.Registerer),
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	l.o.Logger = o.Logger.With("audit", l.path)
	l.mu.Lock()
	if err := l.open(); err != nil {
		l.fail(err, 0)
	}
	l.mu.Unlock()
	l.done.Go(l.syncLoop)
	return l
}

// Path is the current file's path.
func (l *Log) Path() string { return l.path }

// Write appends recs as one batch: one write(2) (one per file when the
// batch crosses MaxSize), fsynced by the syncer within SyncEvery. Records
// a failed write did not complete are dropped and counted; the error is
// logged once until a write works again.
func (l *Log) Write(recs ...Record) {
	if len(recs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.m.drop(len(recs))
		return
	}
	l.buf, l.ends = l.buf[:0], l.ends[:0]
	for i := range recs {
		n := len(l.buf)
		b, err := appendRecord(l.buf, &recs[i])
		if err != nil {
			// A time past year 9999: that record alone cannot be kept.
			l.buf = b[:n]
			l.m.drop(1)
			l.o.Logger.Warn("audit record not encodable; dropped", "jail", recs[i].Jail, "key", recs[i].Key, "err", err)
			continue
		}
		l.buf = append(b, '\n')
		l.ends = append(l.ends, len(l.buf))
	}
	if done, err := l.write(); err != nil {
		l.fail(err, len(l.ends)-done)
		return
	}
	l.worked()
}

// write writes the encoded records, rotating before a record that would
// take the file past MaxSize (a file holds at least one record), and
// returns how many it wrote whole.
func (l *Log) write() (int, error) {
	done, from := 0, 0
	for done < len(l.ends) {
		if l.f == nil {
			if err := l.open(); err != nil {
				return done, err
			}
		}
		k := done
		for k < len(l.ends) && (l.size+int64(l.ends[k]-from) <= l.o.MaxSize || k == done && l.size == 0) {
			k++
		}
		if k == done {
			err := l.rotate()
			if err == nil {
				continue
			}
			l.o.Logger.Warn("rotate the audit trail; writing on to the current file", "err", err)
			l.m.failed()
			if l.f == nil {
				return done, err
			}
			k = len(l.ends) // writing on past the size beats losing records
		}
		if l.torn {
			// End the line a failed write began.
			n, err := l.f.Write([]byte{'\n'})
			l.size += int64(n)
			if err != nil {
				return done, fmt.Errorf("write %s: %w", l.path, err)
			}
		}
		chunk := l.buf[from:l.ends[k-1]]
		n, err := l.f.Write(chunk)
		l.size += int64(n)
		if n > 0 {
			l.dirty = true
			l.torn = chunk[n-1] != '\n'
			l.kick()
		}
		if err != nil {
			for done < k && l.ends[done]-from <= n {
				done++
			}
			return done, fmt.Errorf("write %s: %w", l.path, err)
		}
		done, from = k, l.ends[k-1]
	}
	return done, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open audit trail: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open audit trail: %w", err)
	}
	l.f, l.size = f, fi.Size()
	// A line cut short by a power loss is ended before the next record.
	last := []byte{'\n'}
	if l.size > 0 {
		r, err := os.Open(l.path)
		if err == nil {
			_, _ = r.ReadAt(last, l.size-1)
			_ = r.Close()
		}
	}
	l.torn = last[0] != '\n'
	return nil
}

// fail counts a failed write of n records; the caller holds mu.
func (l *Log) fail(err error, n int) {
	l.m.failed()
	l.m.drop(n)
	if l.failing {
		l.o.Logger.Debug("audit trail write failed", "dropped", n, "err", err)
		return
	}
	l.failing = true
	// A warning, as for the state store falling behind: banning goes on.
	l.o.Logger.Warn("audit trail write failed; its records are dropped and counted until it works (banning goes on)", "dropped", n, "err", err)
}

// worked logs once that writing works after failing; the caller holds mu.
func (l *Log) worked() {
	if l.failing {
		l.failing = false
		l.o.Logger.Info("audit trail writes work again")
	}
}

// Close stops the syncer, fsyncs what was written and closes the file.
// Records written after Close are dropped and counted. Safe to call twice.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	l.done.Wait()
	l.syncNow()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("close audit trail: %w", err)
	}
	return nil
}

// Errors counts failed writes, rotations and fsyncs since Open.
func (l *Log) Errors() uint64 { return l.m.errorsN.Load() }

// Dropped counts the records lost to failed writes since Open.
func (l *Log) Dropped() uint64 { return l.m.droppedN.Load() }
