package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/pipeline"
	"github.com/peerjail/peerjail/internal/source"
)

// reader is one live source, running for as long as some generation reads
// it. A reload that keeps a jail's files or journal matches keeps its
// reader: the lines it has read and not yet handed on wait in its channel
// for the next generation, so nothing is read twice, skipped, or read by
// two followers at once.
type reader struct {
	key    string
	live   source.Live
	lines  chan logline.Line
	ended  chan struct{} // closed when Run has returned
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs the source in a goroutine of the reader's own.
func (r *reader) start(d *Daemon) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		defer close(r.ended)
		if err := r.live.Run(ctx, r.lines); err != nil {
			d.log.Error("source stopped", "source", r.key, "err", err)
		}
	})
}

// stop ends the source and waits for it. The channel is never closed: a
// source may send once more after its Run returned (stdin's blocked read).
func (r *reader) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *reader) hasEnded() bool {
	select {
	case <-r.ended:
		return true
	default:
		return false
	}
}

// sourceGroups gives g one reader per distinct files list or journal match
// set: the running one if there is one, else a new one, opened now but
// started only by the swap.
func (d *Daemon) sourceGroups(g *generation) ([]*sourceGroup, error) {
	byKey := map[string]*sourceGroup{}
	var keys []string
	for i, lj := range g.jails {
		if lj.cfg.Recidive != nil {
			continue // it reads no source: the engine feeds it bans
		}
		key, err := d.sourceKey(lj.cfg)
		if err != nil {
			return nil, err
		}
		grp := byKey[key]
		if grp == nil {
			r := d.readers[key]
			if r == nil || r.hasEnded() {
				// An ended reader is replaced: a reload retries a source
				// that failed.
				live, err := d.openSource(lj.cfg, key)
				if err != nil {
					return nil, fmt.Errorf("jail %q: %w", lj.cfg.Name, err)
				}
				r = &reader{key: key, live: live, lines: make(chan logline.Line, 4*pipeline.BatchSize), ended: make(chan struct{})}
			}
			grp = &sourceGroup{r: r}
			byKey[key] = grp
			keys = append(keys, key)
		}
		grp.jails = append(grp.jails, i)
		lj.sources = append(lj.sources[:0], key)
		lj.live = grp.r.live
	}
	sort.Strings(keys)
	out := make([]*sourceGroup, len(keys))
	for i, k := range keys {
		grp := byKey[k]
		src, err := g.eng.NewSource(grp.r.live.Name(), nil, grp.jails)
		if err != nil {
			return nil, err
		}
		grp.src = src
		out[i] = grp
	}
	return out, nil
}

// switchReaders makes g's readers the running ones: it stops those g does
// not use, after the previous generation has stopped taking lines from
// them, and starts g's new ones, which it returns.
func (d *Daemon) switchReaders(g *generation) []*reader {
	keep := map[*reader]bool{}
	for _, grp := range g.groups {
		keep[grp.r] = true
	}
	for key, r := range d.readers {
		if !keep[r] {
			r.stop()
			delete(d.readers, key)
		}
	}
	var started []*reader
	for _, grp := range g.groups {
		if d.readers[grp.r.key] != grp.r {
			grp.r.start(d)
			d.readers[grp.r.key] = grp.r
			started = append(started, grp.r)
		}
	}
	return started
}

// stopReaders stops every reader (at shutdown, after the generation).
func (d *Daemon) stopReaders() {
	for key, r := range d.readers {
		r.stop()
		delete(d.readers, key)
	}
}

func (d *Daemon) sourceKey(j config.Jail) (string, error) {
	switch {
	case len(j.Files) > 0:
		files := append([]string(nil), j.Files...)
		sort.Strings(files)
		return "files:" + strings.Join(files, ","), nil
	case len(j.Journal) > 0:
		m := append([]string(nil), j.Journal...)
		sort.Strings(m)
		return "journal:" + strings.Join(m, "+"), nil
	}
	return "", fmt.Errorf("jail %q: no source", j.Name)
}

func (d *Daemon) openSource(j config.Jail, key string) (source.Live, error) {
	saved := d.savedPositions(key)
	log := d.log.With("source", key)
	if slices.Contains(j.Files, "-") {
		if len(j.Files) > 1 {
			return nil, errors.New(`files: "-" (standard input) must be the only entry`)
		}
		return source.NewStdin(d.o.Stdin), nil
	}
	if len(j.Files) > 0 {
		return source.NewFiles(j.Files, saved, source.FileOptions{Logger: log}), nil
	}
	return source.NewJournal(j.Journal, saved, source.JournalOptions{Logger: log, Fields: needsFields(j.Filter)})
}

// positionKey names a position in the store: the live source's identity and
// the file (or "journal") within it.
func positionKey(live, src string) string { return live + "|" + src }

// savedPositions are read when the reader starts, after the replaced
// generation's positions were saved.
func (d *Daemon) savedPositions(live string) source.Positions {
	return func(src string) (string, bool) {
		pos, ok, err := d.st.Position(positionKey(live, src))
		if err != nil {
			d.log.Warn("read saved position", "source", src, "err", err)
			return "", false
		}
		return pos, ok
	}
}

// run starts g's batchers, the engine and the expiry ticker, all in g.wg.
// When every reader of g has ended by itself and its lines are counted, the
// engine ends too, and g is lost: the daemon then has nothing counting.
func (d *Daemon) run(g *generation) {
	// Eight batches in flight are enough to keep the engine busy; each more
	// is up to BatchSize lines held in memory twice (the source's copy and
	// the batch's). At 64 the libp2p ingest of scripts/daemon-bench.sh
	// peaked at 126 MB RSS; at 8 (as replay), 88 MB, and it read no slower
	// (1.95M → 2.15M lines/s).
	in := make(chan *pipeline.Batch, 8)
	var batchers sync.WaitGroup
	for _, grp := range g.groups {
		batchers.Go(func() { batch(g.quit, grp.src, grp.r, in) })
	}
	g.wg.Go(func() {
		batchers.Wait()
		close(in)
	})
	engineDone := make(chan struct{})
	g.wg.Go(func() {
		defer close(engineDone)
		// Not ctx: the engine counts every batch it was handed, then ends
		// when in is closed.
		if err := g.eng.Run(context.Background(), in); err != nil {
			d.log.Error("engine stopped", "err", err)
		}
	})
	g.wg.Go(func() {
		defer close(g.ended)
		d.tick(g, engineDone)
	})
}

// tick expires bans and prunes windows every second until the engine has
// ended, which it does when g is stopped or has nothing left to read.
func (d *Daemon) tick(g *generation, engineDone <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-engineDone:
			// stop clears live before it closes quit: still live means
			// the engine ran out of lines by itself.
			if g.live.Load() {
				d.log.Error("every source of the configuration has ended: nothing is read any more")
				d.lostGen()
			}
			return
		case <-t.C:
			g.eng.Do(func() {
				now := d.o.Now()
				g.eng.Expire(now)
				// Windows whose hits all left findtime hold memory for nothing.
				for _, lj := range g.jails {
					lj.lane.Counter.Prune(now)
				}
			})
			if err := d.enf.flush(context.Background(), false); err != nil {
				d.log.Error("flush", "err", err)
			}
			d.savePending(context.Background(), g, idleSaveAfter)
		}
	}
}

// batch groups a reader's lines into batches: it waits for one line, then
// takes what is already there, so an idle source sends a line at once and a
// busy one sends full batches. It returns when quit is closed, or once the
// reader has ended and its lines are all sent; a batch it took is always
// handed to the engine, which counts it.
func batch(quit <-chan struct{}, src *pipeline.Source, r *reader, in chan<- *pipeline.Batch) {
	for {
		var l logline.Line
		select {
		case <-quit:
			return
		case l = <-r.lines:
		case <-r.ended:
			select {
			case l = <-r.lines:
			default:
				return
			}
		}
		b := pipeline.NewBatch(src)
		add(b, l)
	drain:
		for !b.Full() {
			select {
			case l = <-r.lines:
				add(b, l)
			default:
				break drain
			}
		}
		in <- b
	}
}

func add(b *pipeline.Batch, l logline.Line) {
	if source.Oversized(l) {
		b.AddBad(l)
		return
	}
	b.Add(l)
}

// afterBatch records how far each source has been read and applies the
// batch's decisions.
func (d *Daemon) afterBatch(ctx context.Context, b *pipeline.Batch) {
	live := b.Source().Name
	last := map[string]string{}
	for i := range b.Lines {
		last[b.Lines[i].Source] = b.Lines[i].Position
	}
	for src, pos := range last {
		d.enf.position(positionKey(live, src), pos)
	}
	if err := d.enf.flush(ctx, false); err != nil {
		d.log.Error("flush", "err", err)
	}
}
