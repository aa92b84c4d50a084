// Package replay runs old logs through the jails by the logs' own time and
// reports the bans and unbans that would have happened, touching no firewall.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/pipeline"
)

// Options says what to replay and how to report it.
type Options struct {
	Config *config.Config
	// Jail limits the replay to one jail ("" = all).
	Jail string
	// Logs are paths; "-" is standard input; gzip is read transparently.
	// Several are merged by the time of each line.
	Logs []string
	// Without Logs, the jails' configured sources are replayed:
	// ConfiguredFiles their files, each with its rotated siblings (.1,
	// .2.gz, -20261201), ConfiguredJournal their journal matches. Jails
	// without such a source take no part.
	ConfiguredFiles, ConfiguredJournal bool
	// JournalDir or JournalFiles name copied journals read instead of the
	// local one.
	JournalDir   string
	JournalFiles []string
	// Since and Until limit the replay to lines stamped in [Since, Until];
	// zero ends are open.
	Since, Until time.Time
	JSON         bool
	Out          io.Writer
	// Progress receives a progress bar; nil for none.
	Progress io.Writer
	// Warn receives warnings (a file that could not be read to its end).
	Warn io.Writer
	// Workers is the number of matching goroutines (0 = GOMAXPROCS).
	Workers int
}

// ErrUnknownJail is returned when Options.Jail names no jail of the config.
var ErrUnknownJail = errors.New("no such jail")

// ErrNoSource is returned when no jail has a configured source of the
// kinds asked for.
var ErrNoSource = errors.New("nothing to replay")

// Run replays the logs and writes the report. When ctx ends first, the
// lines read so far are counted and reported, and Run returns ctx's error.
func Run(ctx context.Context, o Options) error {
	jails, err := buildJails(o.Config, o.Jail)
	if err != nil {
		return err
	}
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	w := window{o.Since, o.Until}
	start := time.Now()
	var groups []*group
	var cursors []*cursor
	if len(o.Logs) > 0 {
		groups = []*group{newGroup("logs", nil, jails)}
		cursors, err = openLogs(ctx, groups[0], o.Logs, w)
	} else {
		jails, groups, cursors, err = openConfigured(ctx, jails, o, w)
	}
	rep := newReporter(o.Out, o.JSON, jails)
	if err != nil {
		if ctx.Err() != nil {
			return errors.Join(rep.finish(time.Since(start), 0), ctx.Err())
		}
		return err
	}
	eng := pipeline.New(lanes(jails), pipeline.Options{
		Workers:     o.Workers,
		OnDecision:  rep.decision,
		TrackHosts:  true,
		Correlation: correlate.New(o.Config.Correlation),
		SelfIDs:     o.Config.SelfIDs,
	})
	var total int64
	for _, c := range cursors {
		total += c.size
	}
	for _, g := range groups {
		g.src, err = eng.NewSource(g.name, func() time.Time { return g.ref }, g.jails)
		if err != nil {
			for _, c := range cursors {
				c.close()
			}
			return err
		}
	}
	in := make(chan *pipeline.Batch, 8)
	feedErr := make(chan error, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bar := newProgressBar(o.Progress, total)
	go func() { feedErr <- feed(fctx, cursors, in, bar, o.Warn) }()
	// The engine is not stopped by ctx: feed stops reading and closes in,
	// and what it had read is counted, for the report of an interrupted
	// replay.
	runErr := eng.Run(context.WithoutCancel(ctx), in)
	cancel()
	if err := <-feedErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if runErr != nil {
		return runErr
	}
	eng.Expire(eng.LogTime())
	return errors.Join(rep.finish(time.Since(start), linesRead(groups, jails)), ctx.Err())
}

// linesRead counts the lines of every group once: each jail of a group
// saw each of its lines.
func linesRead(groups []*group, jails []*replayJail) int64 {
	var total int64
	for _, g := range groups {
		var n int64
		for i, j := range jails {
			if g.jails == nil || slices.Contains(g.jails, i) {
				n = max(n, j.lane.Counts.Lines)
			}
		}
		total += n
	}
	return total
}

// replayJail is a jail being replayed: its configuration, for the report,
// and its lane in the engine.
type replayJail struct {
	cfg  config.Jail
	lane *pipeline.Lane
}

func buildJails(c *config.Config, only string) ([]*replayJail, error) {
	var out []*replayJail
	for _, jc := range c.Jails {
		if only != "" && jc.Name != only && !feeds(c, only, jc) {
			continue
		}
		lane, err := pipeline.NewLane(jc)
		if err != nil {
			return nil, err
		}
		out = append(out, &replayJail{cfg: jc, lane: lane})
	}
	if len(out) == 0 {
		if only != "" {
			return nil, fmt.Errorf("%w %q in %s", ErrUnknownJail, only, c.Path)
		}
		return nil, fmt.Errorf("%s: no enabled jails", c.Path)
	}
	return out, nil
}

func lanes(js []*replayJail) []*pipeline.Lane {
	out := make([]*pipeline.Lane, len(js))
	for i, j := range js {
		out[i] = j.lane
	}
	return out
}

// isTerminal reports whether w is a terminal, for the progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
