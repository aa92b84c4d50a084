// Package pipeline runs log lines through filters and jails: it matches lines
// on several goroutines and counts the hits in their original order.
package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// Lane is one jail as the engine runs it: its filter in front of its
// counter, and what it counted.
type Lane struct {
	Filter  filter.Filter
	Counter *jail.Counter
	// DatePattern is the jail's datepattern ("" = detect).
	DatePattern string
	// MaxClockSkew is how far a stamp may lie ahead of the clock (live: the
	// daemon's; replay: the file's modification time) before it is
	// distrusted; 0 means config.DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// Counts are updated by Run's counting goroutine; read them after Run
	// returns, or from OnDecision/Observe callbacks.
	Counts Counts
	// Hosts, when the caller sets it, counts hits per host. Options.TrackHosts
	// counts them in the engine's tally instead: read them with HostHits.
	Hosts map[jail.Key]int
	tally *hostTally // Options.TrackHosts without Hosts
	// filterKey identifies the filter's Spec (see NewLane): jails whose
	// keys are equal run one Match per line. Empty: the Filter value
	// itself identifies it.
	filterKey string
	// findTime is the jail's, read once by New: Config copies the
	// policy's slices, too much for every hit.
	findTime time.Duration
	// Recidive is set for a recidive jail, which has no Filter and reads
	// no source: it counts the bans of the lanes that feed it (recidive.go).
	Recidive *config.Recidive
	feeds    []*Lane // the recidive lanes counting this lane's bans
	// byID: the jail counts by identity (key: id), so a hit that names
	// one counts even without an address.
	byID bool
}

// Counts are what happened to the lines a jail saw.
type Counts struct {
	Lines    int64 // every line, readable or not
	Matched  int64 // hits counted against a host (including already banned ones)
	Ignored  int64 // matched an ignore pattern, or the host is in ignoreip
	NoHost   int64 // matched, but named no usable host
	Unparsed int64 // could not be read (broken JSON, oversized line)
	Undated  int64 // matched, but no time could be found
	Banned   int64 // hits from hosts that were banned at the time
	Bans     int64
	// Live: hits whose stamp lay more than MaxClockSkew ahead of the
	// daemon's clock, or more than findtime behind it. They count at the
	// time they were read (and in Matched): never dropped, never trusted.
	FutureTime int64
	PastTime   int64
	// Replay: hits whose stamp jumped out of order (see Engine.hitTime).
	// They count at the time their source had reached (and in Matched).
	OutOfOrder int64
	// LastRead is when the jail was last handed a line, or its engine
	// made (live only: the batch's clock), for the alert on a log nobody
	// writes or reads.
	LastRead time.Time
}

// Options tune an Engine.
type Options struct {
	// Workers is how many goroutines match lines; 0 means GOMAXPROCS.
	Workers int
	// OnDecision receives every ban and unban, in order, on the counting
	// goroutine.
	OnDecision func(jail.Decision)
	// Now is the daemon's clock for live sources: expiry, unbans and the
	// read time of lines run on it, and a line's own stamp only orders its
	// hit among others. nil means replay, where time is the log's own.
	Now func() time.Time
	// TrackHosts keeps per-host hit counts for every lane without Hosts
	// (for reports; see Lane.HostHits).
	TrackHosts bool
	// AfterBatch is called after a batch was counted (its decisions emitted),
	// before the batch is recycled: the daemon applies the decisions and
	// saves the batch's last source position.
	AfterBatch func(b *Batch)
	// Correlation is the identity → addresses table every jail learns into
	// and bans identities' addresses from; nil means a table of the
	// engine's own with correlate's defaults. A daemon passes one table
	// to each generation's engine, so reloads keep what it learned.
	Correlation *correlate.Table
	// SelfIDs are the node's own identities (config self_ids); identities
	// the node names as its own in its lines are added as they are read.
	SelfIDs []string
}

// Engine is the Source → Filter → Counter path shared by replay and the daemon.
type Engine struct {
	jails []*Lane
	opts  Options
	// groups are the distinct filters; group[j] is jail j's.
	groups []filter.Filter
	group  []int
	// mu serialises counting with Do: the jails are not safe for
	// concurrent use.
	mu sync.Mutex
	// logTime is the latest hit time seen; in replay it is the clock.
	logTime time.Time
	next    time.Time // earliest ban expiry over all jails; zero if none
	ids     identities
	// line numbers the lines counted and bans the bans made, so that a
	// line's filters teach an identity's address once (teach).
	line, bans uint64
	taught     taught
}

// New returns an engine over jails.
func New(jails []*Lane, o Options) *Engine {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	for _, j := range jails {
		if o.TrackHosts && j.Hosts == nil {
			j.tally = newHostTally()
		}
		if j.Counter != nil {
			p := j.Counter.Policy()
			j.findTime, j.byID = p.FindTime, p.Key == jail.KeyID
		}
		if o.Now != nil && j.Counts.LastRead.IsZero() {
			// A live jail's quiet time counts from when it starts.
			j.Counts.LastRead = o.Now()
		}
	}
	linkRecidive(jails)
	e := &Engine{jails: jails, opts: o}
	e.groups, e.group = groupFilters(jails)
	e.ids = newIdentities(o.Correlation, o.SelfIDs)
	for _, j := range jails {
		if j.Counter != nil {
			j.Counter.SetCorrelation(e.ids.table)
			j.Counter.SetSelfIDs(e.ids.self)
		}
	}
	return e
}

// NewSource registers a line source read by the given jails (indexes into
// the engine's jails; nil means all). ref is the reference time for
// timestamps without a year and the latest time a line of the source can
// have been written (replay: the file's modification time); nil means
// Options.Now, or the wall clock in replay.
func (e *Engine) NewSource(name string, ref func() time.Time, jails []int) (*Source, error) {
	if ref == nil {
		ref = e.opts.Now
	}
	if ref == nil {
		ref = time.Now
	}
	if jails == nil {
		for i, jl := range e.jails {
			if jl.Recidive == nil {
				jails = append(jails, i)
			}
		}
	}
	s := &Source{Name: name, jails: jails, ref: ref}
	for _, j := range jails {
		if j < 0 || j >= len(e.jails) {
			return nil, fmt.Errorf("source %s: no jail %d", name, j)
		}
		if e.jails[j].Recidive != nil {
			return nil, fmt.Errorf("source %s: jail %s is a recidive jail, which reads no source", name, e.jails[j].Counter.Name())
		}
	}
	if err := s.plan(e); err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	return s, nil
}

// Do runs f on the counting side, between batches, so that f may use the
// jails (status, manual bans, expiry) while Run is counting.
func (e *Engine) Do(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
}

// Run consumes batches until in is closed or ctx is done. Matching runs on
// Options.Workers goroutines; counting, expiry and decisions happen on the
// caller's goroutine in the batches' order.
func (e *Engine) Run(ctx context.Context, in <-chan *Batch) error {
	if e.opts.Workers == 1 {
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case b, ok := <-in:
				if !ok {
					return nil
				}
				e.match(b)
				e.count(b)
			}
		}
	}
	work := make(chan *Batch, e.opts.Workers*2)
	order := make(chan *Batch, e.opts.Workers*4)
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Go(func() {
			for b := range work {
				e.match(b)
				close(b.done)
			}
		})
	}
	go func() {
		defer close(order)
		defer close(work)
		for {
			select {
			case <-ctx.Done():
				return
			case b, ok := <-in:
				if !ok {
					return
				}
				b.done = make(chan struct{})
				order <- b
				work <- b
			}
		}
	}()
	for b := range order {
		<-b.done
		e.count(b)
	}
	wg.Wait()
	return ctx.Err()
}

// lineTime picks a hit's time: the record's own (journald's stamp, a JSON
// filter's time field), else the stamp where the line's writers put it
// (never one inside the message, see timestamp.Detector.Find), else the time
// a live source read it, which read reports.
func lineTime(l *logline.Line, h filter.Hit, d *timestamp.Detector) (t time.Time, dated, read bool) {
	switch {
	case l.TimeIsExact:
		return l.Time, true, false
	case !h.Time.IsZero():
		return h.Time, true, false
	}
	if t, ok := d.Find(l.Text); ok {
		return t, true, false
	}
	return l.Time, !l.Time.IsZero(), true
}

// Carry returns a jail for the next configuration of the same jail (a
// reload that left its filter and policy alone): it goes on counting with
// the same filter and counter, and shares matches as before, with the new
// configuration's datepattern and clock skew.
func (j *Lane) Carry(datePattern string, maxClockSkew time.Duration) *Lane {
	return &Lane{Filter: j.Filter, Counter: j.Counter, DatePattern: datePattern, MaxClockSkew: maxClockSkew, filterKey: j.filterKey, Recidive: j.Recidive}
}

// NewLane builds a configured jail's lane: its filter in front of its counter.
func NewLane(jc config.Jail) (*Lane, error) {
	if jc.Recidive != nil {
		return newRecidiveLane(jc)
	}
	f, err := filter.New(jc.Filter)
	if err != nil {
		return nil, fmt.Errorf("jail %q: %w", jc.Name, err)
	}
	j, err := jail.NewCounter(jc.Policy)
	if err != nil {
		return nil, fmt.Errorf("jail %q: %w", jc.Name, err)
	}
	return &Lane{Filter: f, Counter: j, DatePattern: jc.DatePattern, MaxClockSkew: jc.MaxClockSkew, filterKey: specKey(jc.Filter)}, nil
}
