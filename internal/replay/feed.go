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
// after the dated ones. Standard input, FIFOs and devices are read as
// given, never probed.
func orderFiles(ctx context.Context, paths []string) ([]logFile, error) {
	files := make([]logFile, 0, len(paths))
	for _, p := range paths {
		lf := logFile{path: p, ref: time.Now()}
		if p != "-" {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			lf.ref, lf.size = st.ModTime(), st.Size()
			if !st.Mode().IsRegular() {
				// A FIFO or a device is read once, as given: probing it
				// would take the lines (or never end, /dev/zero).
				files = append(files, lf)
				continue
			}
			first, err := firstTime(ctx, p, lf.ref)
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
func firstTime(ctx context.Context, path string, ref time.Time) (time.Time, error) {
	rc, _, err := source.OpenFileContext(ctx, path)
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
			if ctx.Err() != nil {
				return time.Time{}, ctx.Err()
			}
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
	rc, _, err := source.OpenFileContext(ctx, f.path)
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
	// The engine takes every batch until in is closed, also once ctx has
	// ended: what was read is counted.
	send := func() {
		in <- b
		bar.update(r.Offset())
		b = pipeline.NewBatch(src)
	}
	for {
		text, err := r.Next()
		switch {
		case errors.Is(err, io.EOF):
			bar.fileDone(f.size)
			if b.Len() > 0 {
				send()
			}
			return nil
		case errors.Is(err, source.ErrOversized):
			b.AddBad(logline.Line{Source: f.path, Number: r.Line()})
		case err != nil:
			if b.Len() > 0 {
				send()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: line %d: %w", f.path, r.Line()+1, err)
		default:
			b.Add(logline.Line{Text: text, Source: f.path, Number: r.Line()})
		}
		if b.Full() {
			send()
		}
	}
}
