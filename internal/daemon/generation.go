package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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
// sources. A reload stops one generation and starts the next, carrying over
// the jails whose settings did not change (with their windows and bans).
type generation struct {
	cfg    *config.Config
	jails  []*runJail
	eng    *pipeline.Engine
	cancel context.CancelFunc
	done   chan struct{}
}

type runJail struct {
	cfg     config.Jail
	pj      *pipeline.Jail
	sources []string
	live    source.Live // what it reads, for status
}

// sourceGroup is one live source and the jails that read it: jails with the
// same files or journal matches share a reader.
type sourceGroup struct {
	live  source.Live
	jails []int
}

func (d *Daemon) startGeneration(ctx context.Context, cfg *config.Config, prev *generation) (*generation, error) {
	g := &generation{cfg: cfg, done: make(chan struct{})}
	fresh, err := d.buildJails(g, prev)
	if err != nil {
		return nil, err
	}
	if d.kernel != nil {
		if err := d.kernel.Setup(ctx, firewallJails(cfg)); err != nil {
			return nil, fmt.Errorf("set up nftables: %w", err)
		}
	}
	if err := d.restore(ctx, g, fresh); err != nil {
		return nil, err
	}
	// Decisions are applied on a context nobody cancels: ctx may be a
	// control request's (reload) or the one SIGTERM ends, and a batch
	// counted while stopping must still reach the kernel.
	flushCtx := context.WithoutCancel(ctx)
	g.eng = pipeline.New(pipelineJails(g.jails), pipeline.Options{
		Now:        d.o.Now,
		OnDecision: d.enf.queue,
		AfterBatch: func(b *pipeline.Batch) { d.afterBatch(flushCtx, b) },
	})
	groups, err := d.sourceGroups(g)
	if err != nil {
		return nil, err
	}
	gctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	d.run(gctx, g, groups)
	waitReady(groups, 10*time.Second, d.log)
	return g, nil
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
// policy are unchanged. It returns the indexes of the new ones, which need
// their state restored from the store.
func (d *Daemon) buildJails(g *generation, prev *generation) ([]int, error) {
	self := selfAddrs()
	var fresh []int
	for _, jc := range g.cfg.Jails {
		if jc.IgnoreSelf {
			jc.Policy.IgnoreIP = append(append([]netip.Prefix(nil), jc.Policy.IgnoreIP...), self...)
		}
		if old := prev.find(jc.Name); old != nil && reflect.DeepEqual(old.cfg, jc) {
			g.jails = append(g.jails, &runJail{cfg: jc, pj: &pipeline.Jail{Filter: old.pj.Filter, Jail: old.pj.Jail, DatePattern: jc.DatePattern, Counts: old.pj.Counts}, sources: old.sources})
			continue
		}
		pj, err := pipeline.NewJail(jc)
		if err != nil {
			return nil, err
		}
		fresh = append(fresh, len(g.jails))
		g.jails = append(g.jails, &runJail{cfg: jc, pj: pj})
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

// selfAddrs are this host's addresses, for ignoreself.
func selfAddrs() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ip = ip.Unmap()
				out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	return out
}

func pipelineJails(js []*runJail) []*pipeline.Jail {
	out := make([]*pipeline.Jail, len(js))
	for i, j := range js {
		out[i] = j.pj
	}
	return out
}

func firewallJails(cfg *config.Config) []firewall.Jail {
	var out []firewall.Jail
	for _, j := range cfg.Jails {
		if j.Action != "nftables" {
			continue
		}
		fj := firewall.Jail{Name: j.Name, Protocol: j.Protocol}
		for _, p := range j.Ports {
			fj.Ports = append(fj.Ports, firewall.PortRange{From: p.From, To: p.To})
		}
		out = append(out, fj)
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
			live, err := d.openSource(rj.cfg, key)
			if err != nil {
				return nil, fmt.Errorf("jail %q: %w", rj.cfg.Name, err)
			}
			grp = &sourceGroup{live: live}
			byKey[key] = grp
			keys = append(keys, key)
		}
		grp.jails = append(grp.jails, i)
		rj.sources = append(rj.sources[:0], key)
		rj.live = grp.live
	}
	sort.Strings(keys)
	out := make([]*sourceGroup, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
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

// run starts the readers, their batchers, the engine and the expiry ticker.
func (d *Daemon) run(ctx context.Context, g *generation, groups []*sourceGroup) {
	in := make(chan *pipeline.Batch, 64)
	var readers sync.WaitGroup
	for _, grp := range groups {
		src, err := g.eng.NewSource(grp.live.Name(), nil, grp.jails)
		if err != nil {
			d.log.Error("source", "err", err)
			continue
		}
		lines := make(chan logline.Line, 4*pipeline.BatchSize)
		readers.Go(func() {
			if err := grp.live.Run(ctx, lines); err != nil {
				d.log.Error("source stopped", "source", grp.live.Name(), "err", err)
			}
		})
		readers.Go(func() { batch(ctx, src, lines, in) })
	}
	go func() {
		readers.Wait()
		close(in)
	}()
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		if err := g.eng.Run(ctx, in); err != nil && ctx.Err() == nil {
			d.log.Error("engine stopped", "err", err)
		}
	}()
	go func() {
		defer close(g.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				<-engineDone
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
	}()
}

// batch groups lines into batches: it waits for one line, then takes what is
// already there, so an idle source sends a line at once and a busy one sends
// full batches.
func batch(ctx context.Context, src *pipeline.Source, lines <-chan logline.Line, in chan<- *pipeline.Batch) {
	for {
		var l logline.Line
		select {
		case <-ctx.Done():
			return
		case l = <-lines:
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

// stopGeneration stops g's sources and engine and saves the positions
// reached.
func (d *Daemon) stopGeneration(g *generation) error {
	if g == nil {
		return nil
	}
	g.cancel()
	<-g.done
	return d.enf.flush(context.Background(), true)
}
