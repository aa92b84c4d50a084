package action

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// Backoff bounds: a failing action is tried again after 1s, then 2s, 4s, …
// up to a minute between attempts, until one works.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
	// maxBatch bounds the decisions one Apply carries, so that a backlog
	// after an outage goes out in requests of a sane size.
	maxBatch = 256
)

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Jail and Type name the runner in metrics and logs.
	Jail, Type string
	// Retries is how often a decision is tried again before it is dropped
	// and counted; 0 tries until it works.
	Retries int
	// Queue bounds the waiting decisions; when full, the oldest is dropped
	// and counted. 0 means 10000.
	Queue   int
	Logger  *slog.Logger
	Metrics *Metrics
	// Outcome is told the result of every Apply (and of every drop), from
	// the Runner's goroutine: the one place where what an action did with
	// each decision is known.
	Outcome func(Outcome)
}

// Outcome is what one Apply did with its decisions.
type Outcome struct {
	Jail, Action string
	// Applied took effect, Retry failed and wait for another attempt,
	// Dropped were given up (the queue overflowed or the retries ran out).
	Applied, Retry, Dropped []jail.Decision
	Err                     error // the Apply's error, nil if all took effect
}

// State is a Runner's state for status.
type State struct {
	Held    int   // keys it holds, as the decisions it applied say
	Queued  int   // decisions waiting, retries and the one being applied included
	Dropped int64 // decisions given up since it started
	// Since is set while the last attempt failed: when the failures began,
	// and Err the last one's error.
	Since time.Time
	Err   string
}

// Runner gives one action of one jail its decisions, in order, in batches,
// from a goroutine of its own: a slow or failing action holds up nothing
// else. Decisions that fail are tried again with exponential backoff.
type Runner struct {
	act  Action
	o    RunnerOptions
	name string
	s    series
	log  *slog.Logger

	mu       sync.Mutex
	q        []item // oldest first; q[:inflight] is being applied
	inflight int
	overflow []jail.Decision // dropped by Submit, for the goroutine to report
	held     map[jail.Key]struct{}
	dropped  int64
	since    time.Time
	lastErr  string

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type item struct {
	d     jail.Decision
	tries int
}

// NewRunner starts a Runner for act; Close stops it.
func NewRunner(act Action, o RunnerOptions) *Runner {
	if o.Queue <= 0 {
		o.Queue = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Outcome == nil {
		o.Outcome = func(Outcome) {}
	}
	r := &Runner{act: act, o: o, name: act.Name(), held: map[jail.Key]struct{}{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.s = o.Metrics.series(o.Jail, r.name, o.Type)
	r.log = o.Logger.With("jail", o.Jail, "action", r.name)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.run()
	return r
}

// Action is the action the Runner drives.
func (r *Runner) Action() Action { return r.act }

// Submit queues the decisions the action takes; it never blocks, and never
// calls Outcome itself (the drops it makes are reported from the Runner's
// goroutine), so a caller may hold a lock that Outcome takes.
func (r *Runner) Submit(ds ...jail.Decision) {
	r.mu.Lock()
	for _, d := range ds {
		if !r.act.Takes(d.Key) {
			continue
		}
		r.q = append(r.q, item{d: d})
	}
	r.overflow = append(r.overflow, r.overflowLocked()...)
	r.s.queue.Set(float64(len(r.q)))
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Holds tells the Runner what the action holds already (restored from the
// store at start), for State.Held.
func (r *Runner) Holds(keys ...jail.Key) {
	r.mu.Lock()
	for _, k := range keys {
		r.held[k] = struct{}{}
	}
	r.mu.Unlock()
}

// overflowLocked drops the oldest waiting decisions beyond the queue's
// bound; those being applied stay.
func (r *Runner) overflowLocked() []jail.Decision {
	over := len(r.q) - r.o.Queue
	if over <= 0 {
		return nil
	}
	over = min(over, len(r.q)-r.inflight)
	out := make([]jail.Decision, over)
	for i := range over {
		out[i] = r.q[r.inflight+i].d
	}
	r.q = append(r.q[:r.inflight], r.q[r.inflight+over:]...)
	return out
}

// reportOverflow reports what Submit dropped since the last time.
func (r *Runner) reportOverflow() {
	r.mu.Lock()
	ds := r.overflow
	r.overflow = nil
	r.dropped += int64(len(ds))
	r.mu.Unlock()
	if len(ds) == 0 {
		return
	}
	r.s.drop.Add(float64(len(ds)))
	r.s.dropped.Add(float64(len(ds)))
	r.log.Warn("decisions dropped: the action's queue is full", "dropped", len(ds), "queue", r.o.Queue)
	r.o.Outcome(Outcome{Jail: r.o.Jail, Action: r.name, Dropped: ds})
}

// State reports the Runner's state.
func (r *Runner) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return State{Held: len(r.held), Queued: len(r.q), Dropped: r.dropped + int64(len(r.overflow)), Since: r.since, Err: r.lastErr}
}

// Close stops the Runner and returns once its goroutine has ended. Decisions
// still queued are not applied: what the store recorded as not yet
// acknowledged is handed over again at the next start. It closes the action.
func (r *Runner) Close() error {
	r.cancel()
	<-r.done
	return r.act.Close()
}

func (r *Runner) run() {
	defer close(r.done)
	var backoff time.Duration
	for {
		batch := r.next()
		if batch == nil {
			return
		}
		start := time.Now()
		err := r.act.Apply(r.ctx, batch)
		r.s.apply.Observe(time.Since(start).Seconds())
		if r.ctx.Err() != nil {
			return // stopping: the batch is handed over again at start
		}
		if !r.settle(batch, err) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, minBackoff), maxBackoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return
		}
	}
}

// next waits for decisions and marks up to maxBatch of them in flight;
// nil once the Runner is closed.
func (r *Runner) next() []jail.Decision {
	for {
		r.reportOverflow()
		r.mu.Lock()
		if n := min(len(r.q), maxBatch); n > 0 {
			r.inflight = n
			out := make([]jail.Decision, n)
			for i := range n {
				out[i] = r.q[i].d
			}
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			return nil
		}
	}
}

// settle records what an Apply did and reports whether some of the batch
// failed, so that the next attempt waits.
func (r *Runner) settle(batch []jail.Decision, err error) bool {
	failed := failedSet(len(batch), err)
	var out Outcome
	out.Jail, out.Action, out.Err = r.o.Jail, r.name, err
	r.mu.Lock()
	keep := make([]item, 0, len(failed))
	for i, it := range r.q[:r.inflight] {
		if !failed[i] {
			out.Applied = append(out.Applied, it.d)
			r.holdLocked(it.d)
			continue
		}
		it.tries++
		if r.o.Retries > 0 && it.tries > r.o.Retries {
			out.Dropped = append(out.Dropped, it.d)
			continue
		}
		out.Retry = append(out.Retry, it.d)
		keep = append(keep, it)
	}
	// The failed ones go back to the front, ahead of newer decisions on
	// the same keys: into the slots the batch leaves, so that a long queue
	// is never copied.
	start := r.inflight - len(keep)
	copy(r.q[start:], keep)
	clear(r.q[:start]) // no Decision kept alive by the array's dead front
	r.q = r.q[start:]
	r.inflight = 0
	r.dropped += int64(len(out.Dropped))
	wasFailing := !r.since.IsZero()
	if err != nil && !wasFailing {
		r.since = time.Now()
	}
	if err != nil {
		r.lastErr = err.Error()
	} else {
		r.since, r.lastErr = time.Time{}, ""
	}
	r.s.queue.Set(float64(len(r.q)))
	r.mu.Unlock()
	r.count(out, wasFailing)
	r.o.Outcome(out)
	return err != nil
}

func (r *Runner) holdLocked(d jail.Decision) {
	if d.Action == jail.ActionBan {
		r.held[d.Key] = struct{}{}
	} else {
		delete(r.held, d.Key)
	}
}

// count updates the metrics and logs a change of state once: the first
// failure at error, the ones after it at debug, the recovery at info.
func (r *Runner) count(out Outcome, wasFailing bool) {
	r.s.ok.Add(float64(len(out.Applied)))
	r.s.failed.Add(float64(len(out.Retry) + len(out.Dropped)))
	r.s.drop.Add(float64(len(out.Dropped)))
	r.s.dropped.Add(float64(len(out.Dropped)))
	switch {
	case out.Err != nil:
		r.s.errors.Inc()
		args := []any{"failed", len(out.Retry) + len(out.Dropped), "applied", len(out.Applied), "err", out.Err}
		if wasFailing {
			r.log.Debug("action still failing; retrying with backoff", args...)
		} else {
			r.log.Error("action failed; retrying with backoff", args...)
		}
	case wasFailing:
		r.log.Info("action works again")
	}
	if len(out.Dropped) > 0 {
		r.log.Warn("decisions dropped: retries exhausted", "dropped", len(out.Dropped), "retries", r.o.Retries)
	}
}

// failedSet reads Apply's error: nil, all failed, or the *Failed ones.
func failedSet(n int, err error) []bool {
	failed := make([]bool, n)
	if err == nil {
		return failed
	}
	var f *Failed
	if errors.As(err, &f) && len(f.Index) > 0 {
		for _, i := range f.Index {
			if i >= 0 && i < n {
				failed[i] = true
			}
		}
		return failed
	}
	for i := range failed {
		failed[i] = true
	}
	return failed
}
