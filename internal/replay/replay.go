// Package replay runs old logs through the jails by the logs' own time and
// reports the bans and unbans that would have happened, touching no firewall.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/pipeline"
)

// Options says what to replay and how to report it.
type Options struct {
	Config *config.Config
	// Jail limits the replay to one jail ("" = all).
	Jail string
	// Logs are paths; "-" is standard input; gzip is read transparently.
	Logs []string
	JSON bool
	Out  io.Writer
	// Progress receives a progress bar; nil for none.
	Progress io.Writer
	// Warn receives warnings (a file that could not be read to its end).
	Warn io.Writer
	// Workers is the number of matching goroutines (0 = GOMAXPROCS).
	Workers int
}

// ErrUnknownJail is returned when Options.Jail names no jail of the config.
var ErrUnknownJail = errors.New("no such jail")

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
	rep := newReporter(o.Out, o.JSON, jails)
	eng := pipeline.New(pipelineJails(jails), pipeline.Options{
		Workers:    o.Workers,
		OnDecision: rep.decision,
		TrackHosts: true,
	})
	start := time.Now()
	files, err := orderFiles(ctx, o.Logs)
	if err != nil {
		if ctx.Err() != nil {
			return errors.Join(rep.finish(time.Since(start)), ctx.Err())
		}
		return err
	}
	in := make(chan *pipeline.Batch, 8)
	feedErr := make(chan error, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { feedErr <- feed(fctx, eng, files, in, o.Progress, o.Warn) }()
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
	return errors.Join(rep.finish(time.Since(start)), ctx.Err())
}

// runJail is a configured jail with what the report needs besides counts.
type runJail struct {
	cfg config.Jail
	pj  *pipeline.Jail
}

func buildJails(c *config.Config, only string) ([]*runJail, error) {
	var out []*runJail
	for _, jc := range c.Jails {
		if only != "" && jc.Name != only {
			continue
		}
		pj, err := pipeline.NewJail(jc)
		if err != nil {
			return nil, err
		}
		out = append(out, &runJail{cfg: jc, pj: pj})
	}
	if len(out) == 0 {
		if only != "" {
			return nil, fmt.Errorf("%w %q in %s", ErrUnknownJail, only, c.Path)
		}
		return nil, fmt.Errorf("%s: no enabled jails", c.Path)
	}
	return out, nil
}

func pipelineJails(js []*runJail) []*pipeline.Jail {
	out := make([]*pipeline.Jail, len(js))
	for i, j := range js {
		out[i] = j.pj
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
