package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
)

// The verification loop: the kernel is the truth, so the daemon checks that
// it still holds what the enforcer believes it enforces, and puts back what
// it lost. `nft flush ruleset` (the first line of Debian's stock
// /etc/nftables.conf, so every `systemctl reload nftables`), `peerjail
// flush`, or another process replacing table inet peerjail would otherwise
// leave every ban unenforced while status lists them.
//
// Two triggers: the kernel's nftables events (firewall.Watcher), which tell
// within milliseconds that another process changed something, and a
// period, for what the events cannot tell (a watch that failed and missed
// some). A verification of 10,000 bans costs one listing of the sets, about
// 30 ms (BenchmarkVerify in the firewall package), so verifyShare keeps
// the period long enough for large sets.
const (
	verifyEvery = 10 * time.Second
	// watchSettle lets a series of transactions end (nft -f of a file
	// that flushes, then loads) before verifying once.
	watchSettle = 50 * time.Millisecond
	watchRetry  = time.Second
	// watchSteady: a watch that ran this long before failing counts as
	// having worked, so its next failure is logged again.
	watchSteady = time.Minute
)

// verifyOptions choose the triggers; tests and benchmarks compare them.
type verifyOptions struct {
	every time.Duration
	watch bool
	// share, when > 0, stretches the period to share times the last
	// verification's duration (see verifyShare).
	share int
}

var defaultVerify = verifyOptions{every: verifyEvery, watch: true, share: verifyShare}

// verifyLoop is the running loop's goroutines, owned by the enforcer.
type verifyLoop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startVerifying starts the loop (replacing one that runs); stopVerifying
// stops it and waits for its goroutines.
func (e *enforcer) startVerifying(o verifyOptions) {
	_ = e.stopVerifying()
	if e.memo == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &verifyLoop{cancel: cancel}
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if w, ok := e.memo.Firewall.(firewall.Watcher); ok && o.watch {
		l.wg.Go(func() { e.watch(ctx, w, poke) })
	}
	e.markVerified(time.Now(), o.every)
	l.wg.Go(func() { e.verifyLoop(ctx, o, kick) })
	e.loopMu.Lock()
	e.loop = l
	e.loopMu.Unlock()
}

func (e *enforcer) stopVerifying() error {
	e.loopMu.Lock()
	l := e.loop
	e.loop = nil
	e.loopMu.Unlock()
	if l != nil {
		l.cancel()
		l.wg.Wait()
		e.markVerified(time.Time{}, 0)
	}
	return nil
}

// markVerified records that the kernel was compared at t (zero: the loop
// stopped) and that the next periodic verification comes within next.
func (e *enforcer) markVerified(t time.Time, next time.Duration) {
	if t.IsZero() {
		e.verified.Store(0)
		e.m.verifiedTime.Set(0)
	} else {
		e.verified.Store(t.UnixNano())
		e.m.verifiedTime.Set(float64(t.UnixNano()) / 1e9)
	}
	e.period.Store(int64(next))
	e.m.verifyInterval.Set(next.Seconds())
}

// verifyLateAfter periods without a successful verification make the loop
// late: it waits one period between them, so three leave room for a slow
// listing. A failing one is also reported as failing; this alone catches
// one that never returns.
const verifyLateAfter = 3

// verifyLate says how long ago the kernel was last verified, when that is
// more than verifyLateAfter periods: a loop stuck in a listing that never
// returns would otherwise leave the kernel unchecked while every figure
// still looks right. 0 when on time or when no loop runs.
func (e *enforcer) verifyLate(now time.Time) time.Duration {
	at, period := e.verified.Load(), time.Duration(e.period.Load())
	if at == 0 || period <= 0 {
		return 0
	}
	if since := now.Sub(time.Unix(0, at)); since > verifyLateAfter*period {
		return since
	}
	return 0
}

// watch keeps a watch of the kernel's events running. A failed watch may
// have missed changes, so each failure also asks for a verification.
func (e *enforcer) watch(ctx context.Context, w firewall.Watcher, poke func()) {
	for {
		start := time.Now()
		err := w.Watch(ctx, poke)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= watchSteady {
			e.opWorked("watch", "watching nftables events again")
		}
		e.opFailed("watch", err, "watching nftables events failed; verifying now, watching again in a second")
		poke()
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// verifyShare bounds the time the periodic verification takes: the next
// one waits at least verifyShare times as long as the last took: 10,000 bans
// take about 20–40 ms to verify, so every 10 s, and a set large enough to
// take a second is verified every 100 s; the events still tell of a change
// at once.
const verifyShare = 100

func (e *enforcer) verifyLoop(ctx context.Context, o verifyOptions, kick <-chan struct{}) {
	t := time.NewTimer(o.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchSettle):
			}
			select {
			case <-kick:
			default:
			}
		}
		start := time.Now()
		ok := e.verify(ctx)
		next := max(o.every, time.Duration(o.share)*time.Since(start))
		if ok {
			e.markVerified(start, next)
		} else {
			e.period.Store(int64(next))
			e.m.verifyInterval.Set(next.Seconds())
		}
		t.Reset(next)
	}
}

// verify checks the kernel and repairs what it lacks; false if it could
// not read the kernel.
func (e *enforcer) verify(ctx context.Context) bool {
	drift, ok := e.check(ctx)
	if !ok || drift.None() {
		return ok
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.Warn("nftables lacks what peerjail enforces; repairing", "missing", drift.String())
	for _, what := range drift.What() {
		e.m.repairs.WithLabelValues(what).Inc()
	}
	e.repairLocked(ctx, drift)
	return true
}

// check compares the kernel with the bans the enforcer believes it holds
// and records for each ban whether it does; false if it could not tell.
// The kernel is read without the enforcer's lock, so that bans go on
// meanwhile; a ban decided again during the reading keeps what its decision
// found.
func (e *enforcer) check(ctx context.Context) (firewall.Drift, bool) {
	jails, ok := e.memo.current()
	if !ok {
		return firewall.Drift{}, false
	}
	e.mu.Lock()
	now := e.now()
	e.pruneEnded(now)
	bans, ids := e.kernelBans(now, jails)
	seq := e.view.seq
	e.mu.Unlock()

	start := time.Now()
	drift, err := e.memo.Verify(ctx, jails, bans)
	e.m.verifySeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			e.opFailed("verify", err, "verify the bans in nftables failed; trying again later")
		}
		return firewall.Drift{}, false
	}
	e.opWorked("verify", "verifying the bans in nftables works again")

	e.mu.Lock()
	defer e.mu.Unlock()
	missing := make(map[banID]bool, len(drift.Missing))
	for _, c := range drift.Missing {
		missing[banID{c.Jail, c.Prefix.Masked()}] = true
	}
	// An identity's id comes once per address: it is enforced only if the
	// kernel holds all of them.
	held := make(map[stateKey]bool, len(ids))
	for i, id := range ids {
		if s := e.view.bans[id]; s == nil || s.seq > seq {
			continue // decided again while the kernel was read
		}
		ok, seen := held[id]
		held[id] = (ok || !seen) && !missing[banID{id.jail, bans[i].Prefix.Masked()}]
	}
	for id, ok := range held {
		if ok {
			e.view.mark(id, true, "")
		} else {
			e.view.mark(id, false, "missing from the kernel")
		}
	}
	return drift, true
}

// repairLocked sets the table up again if it must and puts back every ban
// the kernel does not hold, with the time it has left. The caller holds mu,
// so no apply runs in between.
func (e *enforcer) repairLocked(ctx context.Context, drift firewall.Drift) {
	jails, _ := e.memo.current()
	if drift.Structural() {
		var err error
		if jails, err = e.memo.again(ctx); err != nil {
			e.opFailed("setup", err, "set up nftables again failed; retrying at the next verification")
			e.markPending(jails, "set up again: "+err.Error())
			return
		}
		e.opWorked("setup", "setting up nftables works again")
	}
	now := e.now()
	all, ids := e.kernelBans(now, jails)
	var put []firewall.Change
	var putIDs []stateKey
	for i, id := range ids {
		if !e.view.bans[id].enforced {
			put, putIDs = append(put, all[i]), append(putIDs, id)
		}
	}
	if err := e.memo.Restore(ctx, put); err != nil {
		e.opFailed("restore", err, "put bans back into nftables failed; retrying at the next verification", "bans", len(put))
		for _, id := range putIDs {
			e.view.mark(id, false, "put back: "+err.Error())
		}
		return
	}
	e.opWorked("restore", "putting bans back into nftables works again")
	for _, id := range putIDs {
		e.view.mark(id, true, "")
	}
	e.log.Warn("nftables repaired", "bans put back", len(put), "took", time.Since(now).Round(time.Millisecond).String())
}

// markPending marks every kernel ban of jails pending with why.
func (e *enforcer) markPending(jails []firewall.Jail, why string) {
	_, ids := e.kernelBans(e.now(), jails)
	for _, id := range ids {
		e.view.mark(id, false, why)
	}
}

// pruneEnded forgets bans well past their end: normally their unban
// removes them, but a jail a reload removed decides nothing more.
func (e *enforcer) pruneEnded(now time.Time) {
	for id, s := range e.view.bans {
		if now.Sub(s.until) > time.Minute {
			e.view.adjust(id.jail, s, -1)
			delete(e.view.bans, id)
		}
	}
}
