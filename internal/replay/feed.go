package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/pipeline"
	"github.com/peerjail/peerjail/internal/source"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// logFile is one input with what ordering needs.
type logFile struct {
	path  string
	ref   time.Time // modification time: the reference for year-less stamps
	first time.Time // first timestamp found, zero if none
	size  int64
}

// orderFiles sorts the inputs by their first timestamp, so that
// "auth.log auth.log.1 auth.log.2.gz" (newest first, as a shell glob lists
// them) is replayed oldest first. Files without a timestamp keep their place
// after the dated ones. Standard input is read as given, never probed.
func orderFiles(paths []string) ([]logFile, error) {
	files := make([]logFile, 0, len(paths))
	for _, p := range paths {
		lf := logFile{path: p, ref: time.Now()}
		if p != "-" {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			lf.ref, lf.size = st.ModTime(), st.Size()
			first, err := firstTime(p, lf.ref)
			if err != nil {
				return nil, err
			}
			lf.first = first
		}
		files = append(files, lf)
	}
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i].first, files[j].first
		return !a.IsZero() && (b.IsZero() || a.Before(b))
	})
	return files, nil
}

// firstTime returns the first timestamp among the first lines of a file.
func firstTime(path string, ref time.Time) (time.Time, error) {
	rc, _, err := source.OpenFile(path)
	if err != nil {
		return time.Time{}, err
	}
	defer rc.Close()
	d, err := timestamp.NewDetector(timestamp.Options{Reference: func() time.Time { return ref }})
	if err != nil {
		return time.Time{}, err
	}
	r := source.NewReader(rc)
	for range 1000 {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, source.ErrOversized) {
			return time.Time{}, fmt.Errorf("%s: %w", path, err)
		}
		if t, ok := d.Find(line); ok {
			return t, nil
		}
	}
	return time.Time{}, nil
}

// feed reads the files in order into batches and closes in at the end.
// A file that breaks off (a truncated .gz, a read error) is reported to warn
// and the replay goes on with the next one: what was read still counts.
func feed(ctx context.Context, eng *pipeline.Engine, files []logFile, in chan<- *pipeline.Batch, progress, warn io.Writer) error {
	defer close(in)
	bar := newProgressBar(progress, files)
	defer bar.done()
	for _, f := range files {
		err := feedFile(ctx, eng, f, in, bar)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(warn, "peerjail: replay: %v (going on with the next file)\n", err)
		}
	}
	return nil
}

func feedFile(ctx context.Context, eng *pipeline.Engine, f logFile, in chan<- *pipeline.Batch, bar *progressBar) error {
	rc, _, err := source.OpenFile(f.path)
	if err != nil {
		return err
	}
	defer rc.Close()
	ref := f.ref
	src, err := eng.NewSource(f.path, func() time.Time { return ref }, nil)
	if err != nil {
		return err
	}
	r := source.NewReader(rc)
	b := pipeline.NewBatch(src)
	send := func() error {
		select {
		case in <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		bar.update(r.Offset())
		b = pipeline.NewBatch(src)
		return nil
	}
	for {
		text, err := r.Next()
		switch {
		case errors.Is(err, io.EOF):
			bar.fileDone(f.size)
			if b.Len() > 0 {
				return send()
			}
			return nil
		case errors.Is(err, source.ErrOversized):
			b.AddBad(logline.Line{Source: f.path, Number: r.Line()})
		case err != nil:
			return fmt.Errorf("%s: line %d: %w", f.path, r.Line()+1, err)
		default:
			b.Add(logline.Line{Text: text, Source: f.path, Number: r.Line()})
		}
		if b.Full() {
			if err := send(); err != nil {
				return err
			}
		}
	}
}
