package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/pipeline"
	"github.com/peerjail/peerjail/internal/source"
)

// generation is the running form of one configuration: its jails, engine and
// sources. A reload builds the next generation completely while this one
// runs, then swaps (see Daemon.swap), carrying over the jails whose settings
// did not change, with their windows and bans.
type generation struct {
	cfg    *config.Config
	jails  []*runJail
	eng    *pipeline.Engine
	groups []*sourceGroup
	// handover holds the positions the replaced generation had counted up
	// to, by position key: the sources start there, not at the store's
	// (older) positions, so that no line is counted twice or skipped.
	handover map[string]string

	mu      sync.Mutex
	reached map[string]string // positions counted up to, by position key

	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine start started
	ended  chan struct{}  // closed once counting has stopped, whatever the cause
	lost   chan struct{}  // closed if counting stopped without stop being called
}

type runJail struct {
	cfg     config.Jail
	pj      *pipeline.Jail
	sources []string
	// prev is the replaced generation's jail of the same name: carried
	// (same filter and policy, so the same *jail.Jail goes on counting) or
	// not (its bans are taken over at the swap).
	prev    *runJail
	carried bool
}

// sourceGroup is one live source and the jails that read it: jails with the
// same files or journal matches share a reader.
type sourceGroup struct {
	live  source.Live
	src   *pipeline.Source
	jails []int
}

// build makes the generation for cfg while prev, if any, goes on running:
// everything that can fail (filters, the firewall's sets, the store, the
// sources) is done here, so that a failure leaves prev untouched. Nothing
// reads lines until start.
func (d *Daemon) build(ctx context.Context, cfg *config.Config, prev *generation) (*generation, error) {
	g := &generation{cfg: cfg, reached: map[string]string{}, handover: map[string]string{},
		ended: make(chan struct{}), lost: make(chan struct{})}
	fresh, err := d.buildJails(g, prev)
	if err != nil {
		return nil, err
	}
	// Decisions are applied on a context nobody cancels: ctx may be a
	// control request's (reload) or the one SIGTERM ends, and a batch
	// counted while stopping must still reach the kernel.
	flushCtx := context.WithoutCancel(ctx)
	g.eng = pipeline.New(pipelineJails(g.jails), pipeline.Options{
		Now:        d.o.Now,
		OnDecision: d.enf.queue,
		AfterBatch: func(b *pipeline.Batch) { d.afterBatch(flushCtx, g, b) },
	})
	if g.groups, err = d.sourceGroups(g); err != nil {
		return nil, err
	}
	if d.kernel != nil {
		// prev's jails stay set up until the swap: prev may ban in a jail
		// the new configuration drops.
		if err := d.kernel.Setup(ctx, firewallJails(cfg, prev)); err != nil {
			return nil, fmt.Errorf("set up nftables: %w", err)
		}
	}
	if err := d.restore(ctx, g, fresh); err != nil {
		d.revertSetup(ctx, prev)
		return nil, err
	}
	for _, rj := range g.jails {
		if rj.prev != nil && !rj.carried {
			if err := d.restoreOffenders(rj); err != nil {
				d.revertSetup(ctx, prev)
				return nil, err
			}
		}
	}
	return g, nil
}

// revertSetup puts the firewall's jails back to prev's after a failed build.
func (d *Daemon) revertSetup(ctx context.Context, prev *generation) {
	if d.kernel == nil || prev == nil {
		return
	}
	if err := d.kernel.Setup(context.WithoutCancel(ctx), firewallJails(prev.cfg, nil)); err != nil {
		d.log.Warn("remove the failed configuration's jails from nftables", "err", err)
	}
}

// takeOver makes g continue where prev, now stopped, left off: the carried
// jails' counters, the bans of the jails whose policy changed, and the
// positions prev counted up to. Nothing else uses either generation.
func (g *generation) takeOver(prev *generation) {
	for _, rj := range g.jails {
		switch {
		case rj.prev == nil:
		case rj.carried:
			rj.pj.Counts = rj.prev.pj.Counts
		default:
			for _, b := range rj.prev.pj.Jail.Bans() {
				rj.pj.Jail.Restore(b)
			}
		}
	}
	if prev != nil {
		maps.Copy(g.handover, prev.reached)
	}
}

// start runs g's readers, their batchers, the engine and the expiry ticker;
// waitReady then waits until the sources have positioned themselves.
func (d *Daemon) start(g *generation) {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	d.run(ctx, g)
}

// stop stops g and returns once every goroutine start started has ended, so
// nothing of g reads a file or uses the store afterwards.
func (g *generation) stop() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
}

// running reports whether g is counting.
func (g *generation) running() bool {
	select {
	case <-g.ended:
		return false
	default:
		return g.cancel != nil
	}
}

// waitReady waits until the sources have positioned themselves, so that a
// line written once the daemon says it is ready is never skipped as "old".
func waitReady(groups []*sourceGroup, limit time.Duration, log *slog.Logger) {
	deadline := time.After(limit)
	for _, grp := range groups {
		s, ok := grp.live.(source.Starter)
		if !ok {
			continue
		}
		select {
		case <-s.Ready():
		case <-deadline:
			log.Warn("source not ready in time; going on", "source", grp.live.Name())
			return
		}
	}
}

// buildJails makes the jails of g, reusing prev's when their filter and
// policy are unchanged. It returns the indexes of the jails no generation
// had, whose state comes from the store. This host's own addresses are not
// part of the policy compared: they are handed to every jail as they change
// (see selfWatch), so a new address resets no window.
func (d *Daemon) buildJails(g *generation, prev *generation) ([]int, error) {
	var fresh []int
	for _, jc := range g.cfg.Jails {
		old := prev.find(jc.Name)
		if old != nil && reflect.DeepEqual(old.cfg, jc) {
			g.jails = append(g.jails, &runJail{cfg: jc, prev: old, carried: true,
				pj: &pipeline.Jail{Filter: old.pj.Filter, Jail: old.pj.Jail, DatePattern: jc.DatePattern}})
			continue
		}
		pj, err := pipeline.NewJail(jc)
		if err != nil {
			return nil, err
		}
		d.self.hand(jc, pj.Jail)
		if old == nil {
			fresh = append(fresh, len(g.jails))
		}
		g.jails = append(g.jails, &runJail{cfg: jc, pj: pj, prev: old})
	}
	return fresh, nil
}

func (g *generation) find(name string) *runJail {
	if g == nil {
		return nil
	}
	for _, j := range g.jails {
		if j.cfg.Name == name {
			return j
		}
	}
	return nil
}

func pipelineJails(js []*runJail) []*pipeline.Jail {
	out := make([]*pipeline.Jail, len(js))
	for i, j := range js {
		out[i] = j.pj
	}
	return out
}

// firewallJails are the nftables jails of cfg, and those of also that cfg
// does not have.
func firewallJails(cfg *config.Config, also *generation) []firewall.Jail {
	var out []firewall.Jail
	seen := map[string]bool{}
	add := func(j config.Jail) {
		if j.Action != "nftables" || seen[j.Name] {
			return
		}
		seen[j.Name] = true
		fj := firewall.Jail{Name: j.Name, Protocol: j.Protocol}
		for _, p := range j.Ports {
			fj.Ports = append(fj.Ports, firewall.PortRange{From: p.From, To: p.To})
		}
		out = append(out, fj)
	}
	for _, j := range cfg.Jails {
		add(j)
	}
	if also != nil {
		for _, j := range also.cfg.Jails {
			add(j)
		}
	}
	return out
}

// sourceGroups opens one live source per distinct files list or journal
// match set.
func (d *Daemon) sourceGroups(g *generation) ([]*sourceGroup, error) {
	byKey := map[string]*sourceGroup{}
	var keys []string
	for i, rj := range g.jails {
		key, err := d.sourceKey(rj.cfg)
		if err != nil {
			return nil, err
		}
		grp := byKey[key]
		if grp == nil {
			live, err := d.openSource(g, rj.cfg, key)
			if err != nil {
				return nil, fmt.Errorf("jail %q: %w", rj.cfg.Name, err)
			}
			grp = &sourceGroup{live: live}
			byKey[key] = grp
			keys = append(keys, key)
		}
		grp.jails = append(grp.jails, i)
		rj.sources = append(rj.sources[:0], key)
	}
	sort.Strings(keys)
	out := make([]*sourceGroup, len(keys))
	for i, k := range keys {
		grp := byKey[k]
		src, err := g.eng.NewSource(grp.live.Name(), nil, grp.jails)
		if err != nil {
			return nil, err
		}
		grp.src = src
		out[i] = grp
	}
	return out, nil
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

func (d *Daemon) openSource(g *generation, j config.Jail, key string) (source.Live, error) {
	saved := d.savedPositions(g, key)
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

// needsFields reports whether a filter tests journald fields besides the
// message, which makes reading each entry dearer.
func needsFields(s filter.Spec) bool {
	if s.JSON == nil {
		return false
	}
	for _, c := range s.JSON.Match {
		if strings.HasPrefix(c.Path, "journal.") {
			return true
		}
	}
	return false
}

// positionKey names a position in the store: the live source's identity and
// the file (or "journal") within it.
func positionKey(live, src string) string { return live + "|" + src }

func (d *Daemon) savedPositions(g *generation, live string) source.Positions {
	return func(src string) (string, bool) {
		// Read when the source starts, after the swap has filled handover.
		if pos, ok := g.handover[positionKey(live, src)]; ok {
			return pos, true
		}
		pos, ok, err := d.st.Position(positionKey(live, src))
		if err != nil {
			d.log.Warn("read saved position", "source", src, "err", err)
			return "", false
		}
		return pos, ok
	}
}

// run starts the readers, their batchers, the engine and the expiry
// ticker, all of them in g.wg. When every source has ended by itself the
// engine ends too, and g is lost: the daemon then has nothing counting.
func (d *Daemon) run(ctx context.Context, g *generation) {
	in := make(chan *pipeline.Batch, 64)
	var readers sync.WaitGroup
	for _, grp := range g.groups {
		lines := make(chan logline.Line, 4*pipeline.BatchSize)
		// Not closing lines: a source may still send after Run returned
		// (stdin's blocked read); its end is told by ended instead.
		ended := make(chan struct{})
		readers.Go(func() {
			defer close(ended)
			if err := grp.live.Run(ctx, lines); err != nil {
				d.log.Error("source stopped", "source", grp.live.Name(), "err", err)
			}
		})
		readers.Go(func() { batch(ctx, grp.src, lines, ended, in) })
	}
	g.wg.Go(func() {
		readers.Wait()
		close(in)
	})
	engineDone := make(chan struct{})
	g.wg.Go(func() {
		defer close(engineDone)
		if err := g.eng.Run(ctx, in); err != nil && ctx.Err() == nil {
			d.log.Error("engine stopped", "err", err)
		}
	})
	g.wg.Go(func() {
		defer close(g.ended)
		d.tick(ctx, g, engineDone)
	})
}

// tick expires bans and prunes windows every second until ctx is done or
// the engine has ended by itself.
func (d *Daemon) tick(ctx context.Context, g *generation, engineDone <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-engineDone
			return
		case <-engineDone:
			if ctx.Err() == nil {
				d.log.Error("every source of the configuration has ended: nothing is read any more")
				close(g.lost)
				d.lostGen()
			}
			return
		case <-t.C:
			g.eng.Do(func() {
				now := d.o.Now()
				g.eng.Expire(now)
				// Windows whose hits all left findtime hold memory for nothing.
				for _, rj := range g.jails {
					rj.pj.Jail.Prune(now)
				}
			})
			if err := d.enf.flush(context.Background(), false); err != nil {
				d.log.Error("flush", "err", err)
			}
		}
	}
}

// batch groups lines into batches: it waits for one line, then takes what is
// already there, so an idle source sends a line at once and a busy one sends
// full batches. Once ended is closed it sends what is left and returns.
func batch(ctx context.Context, src *pipeline.Source, lines <-chan logline.Line, ended <-chan struct{}, in chan<- *pipeline.Batch) {
	for {
		var l logline.Line
		select {
		case <-ctx.Done():
			return
		case l = <-lines:
		case <-ended:
			select {
			case l = <-lines:
			default:
				return
			}
		}
		b := pipeline.NewBatch(src)
		add(b, l)
	drain:
		for !b.Full() {
			select {
			case l = <-lines:
				add(b, l)
			default:
				break drain
			}
		}
		select {
		case in <- b:
		case <-ctx.Done():
			return
		}
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
func (d *Daemon) afterBatch(ctx context.Context, g *generation, b *pipeline.Batch) {
	live := b.Source().Name
	last := map[string]string{}
	for i := range b.Lines {
		if pos := b.Lines[i].Position; pos != "" {
			last[b.Lines[i].Source] = pos
		}
	}
	g.mu.Lock()
	for src, pos := range last {
		g.reached[positionKey(live, src)] = pos
	}
	g.mu.Unlock()
	for src, pos := range last {
		d.enf.position(positionKey(live, src), pos)
	}
	if err := d.enf.flush(ctx, false); err != nil {
		d.log.Error("flush", "err", err)
	}
}
