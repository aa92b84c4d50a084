package source

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// Live is a line source for the daemon.
type Live interface {
	// Name is the source's stable identity, such as
	// "files:/var/log/ipfs/*.log" or "journal:_SYSTEMD_UNIT=ipfs.service+SYSLOG_IDENTIFIER=ipfs".
	Name() string
	// Run sends lines to out until ctx is done (then it returns nil) or a
	// fatal error. Every Line carries its Source, its Time and the Position
	// to store once the line has been processed. Text is owned by the
	// receiver. A line longer than MaxLine arrives with a nil Text (see
	// Oversized); other lines, empty ones included, have a non-nil Text.
	Run(ctx context.Context, out chan<- logline.Line) error
}

// Starter is implemented by sources that position themselves when Run
// starts (a file read from its end, the journal's tail). Ready is closed once
// they have: a line written after that is delivered. The daemon waits for it
// before telling systemd it is ready.
type Starter interface {
	Ready() <-chan struct{}
}

// readiness is the closed-once channel behind Starter.
type readiness struct {
	once sync.Once
	ch   chan struct{}
}

func newReadiness() readiness { return readiness{ch: make(chan struct{})} }

func (r *readiness) done() { r.once.Do(func() { close(r.ch) }) }

// Positions returns the saved position of a source (a file path, or
// "journal"), as a Line's Position once carried it.
type Positions func(source string) (pos string, ok bool)

// Oversized reports whether a live source sent l in place of a line longer
// than MaxLine, whose text was dropped.
func Oversized(l logline.Line) bool { return l.Oversized }

func noPositions(string) (string, bool) { return "", false }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// send delivers l unless ctx ends first; it reports whether l was sent.
func send(ctx context.Context, out chan<- logline.Line, l logline.Line) bool {
	select {
	case out <- l:
		return true
	case <-ctx.Done():
		return false
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Watcher is implemented by live sources that can say what they read now:
// the files a Files source follows, a Journal's matches. Watching is safe
// to call while Run runs.
type Watcher interface {
	Watching() []string
}

// UnmatchedGlobs returns the globs that match no file now ("-", standard
// input, is not a glob).
func UnmatchedGlobs(globs []string) []string {
	var out []string
	for _, g := range globs {
		if g == "-" {
			continue
		}
		if m, err := filepath.Glob(g); err == nil && len(m) == 0 {
			out = append(out, g)
		}
	}
	return out
}
