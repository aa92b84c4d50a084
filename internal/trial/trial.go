// Package trial runs one filter over a log and reports what each pattern
// matched: the job of `peerjail test-filter` (fail2ban-regex's, for peerjail).
package trial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/source"
)

// Options says which filter to try on which log.
type Options struct {
	Spec filter.Spec
	Log  string // path, or "-"; with Input, only its name in the report
	// Input, when set, is read instead of opening Log (test-filter --line).
	Input io.Reader
	JSON  bool
	Out   io.Writer
	// Samples is how many missed lines to show (default 10).
	Samples int
}

// Result holds the counts of a trial.
type Result struct {
	Lines, Matched, Ignored, Missed, NoHost, Unparsed int64
	PerPattern                                        []int64
	Hosts                                             map[string]int64
	MissedSamples                                     []string
	Elapsed                                           time.Duration
}

// Run tries the filter on the log and writes the report. When ctx ends
// first, the report covers the lines read so far and Run returns ctx's
// error with it.
func Run(ctx context.Context, o Options) (*Result, error) {
	f, err := filter.New(o.Spec)
	if err != nil {
		return nil, err
	}
	if o.Samples == 0 {
		o.Samples = 10
	}
	in := o.Input
	if in == nil {
		rc, _, err := source.OpenFileContext(ctx, o.Log)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		in = rc
	}
	res := &Result{PerPattern: make([]int64, len(patterns(o.Spec))), Hosts: make(map[string]int64)}
	rep := newReport(o)
	start := time.Now()
	r := source.NewReader(in)
	var readErr error
	for {
		text, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, source.ErrOversized) {
			readErr = fmt.Errorf("%s: line %d: %w", o.Log, r.Line()+1, err)
			if ctx.Err() != nil {
				readErr = ctx.Err()
			}
			break
		}
		res.Lines++
		if errors.Is(err, source.ErrOversized) {
			res.Unparsed++
			continue
		}
		l := logline.Line{Text: text, Source: o.Log, Number: r.Line()}
		hit, out := f.Match(&l)
		res.add(hit, out, text, o.Samples)
		if out == filter.Match {
			rep.match(r.Line(), hit)
		}
	}
	res.Elapsed = time.Since(start)
	if err := rep.finish(res); err != nil {
		return nil, err
	}
	return res, readErr
}

func (res *Result) add(hit filter.Hit, out filter.Outcome, text []byte, samples int) {
	switch out {
	case filter.Match:
		res.Matched++
		if hit.Rule < len(res.PerPattern) {
			res.PerPattern[hit.Rule]++
		}
		res.Hosts[hit.Host.String()]++
	case filter.Ignored:
		res.Ignored++
	case filter.NoHost:
		res.NoHost++
	case filter.Unparsed:
		res.Unparsed++
	default:
		res.Missed++
		if len(res.MissedSamples) < samples {
			res.MissedSamples = append(res.MissedSamples, clip(string(text), 300))
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// patterns are the rules a hit's Rule indexes: the regex failure patterns, or
// the JSON filter's conditions as one rule.
func patterns(s filter.Spec) []string {
	if s.Regex != nil {
		return s.Regex.Fail
	}
	if s.JSON == nil {
		return nil
	}
	var conds []string
	for _, c := range s.JSON.Match {
		conds = append(conds, c.String())
	}
	field := "host from " + s.JSON.Host
	if s.JSON.Host == "" {
		field = "id from " + s.JSON.ID
	}
	return []string{strings.Join(conds, " and ") + "; " + field}
}
