package daemon

import (
	"context"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// Pending windows (the hits of hosts not banned yet) are saved so that a
// restart, graceful or kill -9, does not give every attacker a fresh
// window: otherwise one who can crash the daemon, or just outlast a
// restart, is never banned.
//
// pendingSaveInterval bounds what a kill -9 loses: the hits counted since
// the last snapshot, at most this old while lines keep coming. A snapshot
// copies every window under the counting lock (Engine.Do) and rewrites the
// jail's windows in the store, so it is taken no more often than this,
// and not at all when no hit was counted since the last one. Both run on
// the counting goroutine; with many hosts tracked (a spoofed flood:
// ~0.4 s to copy and ~1.4 s to write 1,000,000 windows, see
// BenchmarkPendingSnapshot) the interval grows to pendingCostFactor times
// what the last save took, so that saving never takes more than 5% of
// the counting side's time.
const (
	pendingSaveInterval = 2 * time.Second
	pendingCostFactor   = 20
)

// idleSaveAfter is how long after the last snapshot the generation's
// ticker (once a second) takes one itself. While lines come, snapshots are
// taken right after a batch (see savePending), where they match the
// positions saved with them exactly, and the ticker never finds one due;
// it only catches the hits of the last batches before the lines stopped.
// A ticker's snapshot can, rarely, take the hits of a batch counted whose
// position is not recorded yet: after a kill -9 within the next second
// (before the position is saved) that one batch is counted again.
const idleSaveAfter = pendingSaveInterval + time.Second

// snapshots is when the windows of which generation were last taken, and
// how many hits and bans its jails had counted then.
type snapshots struct {
	gen  *generation
	at   time.Time
	sig  int64
	cost time.Duration // wall time of the last copy and write
	seq  uint64        // counts snapshots, so that an older one never replaces a newer
}

// snapshotDue reports whether a snapshot of g's windows is due at now, and
// what the last one was.
func (e *enforcer) snapshotDue(g *generation, now time.Time, every time.Duration) (snapshots, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	last := e.snaps
	switch {
	case last.gen != g && every > 0:
		// A new generation starts from windows that are saved already
		// (restored, or saved when the previous one stopped): its first
		// snapshot is due an interval from now.
		e.snaps = snapshots{gen: g, at: now, sig: -1, seq: last.seq}
		return last, false
	case last.gen == g && every > 0 && now.Sub(last.at) < max(every, pendingCostFactor*last.cost):
		return last, false
	}
	return last, true
}

// snapshotTaken records s as the latest snapshot and returns its seq. It
// is called with the engine held (engine, then enforcer).
func (e *enforcer) snapshotTaken(s snapshots) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.seq = e.snaps.seq + 1
	e.snaps = s
	return s.seq
}

// snapshotWindows hands the next flush the windows of snapshot seq, unless
// a newer one was taken meanwhile.
func (e *enforcer) snapshotWindows(seq uint64, windows map[string][]store.PendingHost) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snaps.seq == seq {
		e.windows = windows
	}
}

// snapshotCost records what the last snapshot cost, copy and write.
func (e *enforcer) snapshotCost(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snaps.cost = d
}

// savePending takes a snapshot of g's windows when one is due and saves
// it with a flush. It is called on the counting goroutine after each
// batch, once the batch's positions are recorded: the store then gets
// the windows in the transaction that saves those positions or later ones,
// so after a kill -9 no hit is both restored and read again.
func (d *Daemon) savePending(ctx context.Context, g *generation, every time.Duration) {
	start := time.Now()
	if !d.snapshotPending(g, every) {
		return
	}
	if err := d.enf.flush(ctx, false); err != nil {
		d.log.Error("flush", "err", err)
	}
	d.enf.snapshotCost(time.Since(start))
}

// snapshotPending hands the enforcer a copy of g's windows for its next
// flush if the last one is at least every old (and pendingCostFactor
// times its cost; every 0: now, as at a stop) and hits were counted since.
// It reports whether it took one.
func (d *Daemon) snapshotPending(g *generation, every time.Duration) bool {
	e := d.enf
	now := d.o.Now()
	last, due := e.snapshotDue(g, now, every)
	if !due {
		return false
	}
	var taken map[string][]jail.Pending
	var seq uint64
	g.eng.Do(func() {
		sig := counted(g)
		if last.gen == g && last.sig == sig {
			return
		}
		taken = make(map[string][]jail.Pending, len(g.jails))
		for _, rj := range g.jails {
			taken[rj.cfg.Name] = rj.pj.Jail.Pending(now)
		}
		seq = e.snapshotTaken(snapshots{gen: g, at: now, sig: sig, cost: last.cost})
	})
	if taken == nil {
		return false
	}
	// Off the counting lock: the keys' text is the dearer half of a copy.
	windows := make(map[string][]store.PendingHost, len(taken))
	for name, ps := range taken {
		hosts := make([]store.PendingHost, len(ps))
		for i, p := range ps {
			hosts[i] = store.PendingHost{Key: p.Key.String(), Hits: p.Hits}
		}
		windows[name] = hosts
	}
	e.snapshotWindows(seq, windows)
	return true
}

// counted changes whenever a window may have: a hit counted, a ban made.
func counted(g *generation) int64 {
	var n int64
	for _, rj := range g.jails {
		n += rj.pj.Counts.Matched + rj.pj.Counts.Bans
	}
	return n
}

// restorePending puts the saved windows back into the fresh jails, after
// their bans (a banned host's window is not restored). Hits older than
// findtime are dropped and no host gets maxretry hits back, so restoring
// never bans by itself (jail.RestorePending). A store that cannot be read
// costs the windows, never the start.
func (d *Daemon) restorePending(g *generation, fresh []int, now time.Time) {
	n := 0
	for _, i := range fresh {
		rj := g.jails[i]
		hosts, err := d.st.Pending(rj.cfg.Name)
		if err != nil {
			d.log.Warn("read saved pending windows; the jail starts without them", "jail", rj.cfg.Name, "err", err)
			continue
		}
		ps := make([]jail.Pending, 0, len(hosts))
		for _, h := range hosts {
			// Keys are Key.String()s, /128 keeps a narrowed one as it was.
			k, err := jail.ParseKey(h.Key, 128)
			if err != nil {
				continue
			}
			ps = append(ps, jail.Pending{Key: k, Hits: h.Hits})
		}
		rj.pj.Jail.RestorePending(ps, now)
		n += len(ps)
	}
	if n > 0 {
		d.log.Info("pending windows restored", "hosts", n)
	}
}
