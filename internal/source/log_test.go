package source

import (
	"context"
	"log/slog"
	"sync"
)

// logRecorder is a slog handler that keeps what was logged.
type logRecorder struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: make(map[string]string)}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, lr)
	return nil
}

// count returns how many records at level have msg (any message when
// empty) and attribute key equal to value (any when key is empty).
func (r *logRecorder) count(level slog.Level, msg, key, value string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, lr := range r.recs {
		if lr.level == level && (msg == "" || lr.msg == msg) && (key == "" || lr.attrs[key] == value) {
			n++
		}
	}
	return n
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(r) }
