package pipeline

import (
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
)

// count feeds a matched batch to the jails in line order.
func (e *Engine) count(b *Batch) {
	e.mu.Lock()
	nj := len(e.jails)
	for i := range b.Lines {
		for _, j := range b.src.jails {
			e.countOne(e.jails[j], &b.res[i*nj+j], b.Lines[i].Text)
		}
	}
	e.mu.Unlock()
	if e.opts.AfterBatch != nil {
		e.opts.AfterBatch(b)
	}
	b.release()
}

func (e *Engine) countOne(jl *Jail, r *result, text []byte) {
	c := &jl.Counts
	c.Lines++
	switch r.outcome {
	case filter.Miss:
		return
	case filter.Ignored:
		c.Ignored++
		return
	case filter.NoHost:
		c.NoHost++
		return
	case filter.Unparsed:
		c.Unparsed++
		return
	}
	if !r.dated {
		c.Undated++
		return
	}
	if e.opts.Now != nil && e.opts.Now().Sub(r.at) > jl.Jail.Config().FindTime {
		c.Stale++
		return
	}
	e.advance(r.at)
	d, v := jl.Jail.Add(r.hit, r.at, text)
	switch v {
	case jail.IgnoredHost:
		c.Ignored++
		return
	case jail.AlreadyBanned:
		c.Banned++
	case jail.Banned:
		c.Bans++
		e.noteBan(d)
	}
	c.Matched++
	if jl.Hosts != nil {
		if k, ok := jl.Jail.KeyFor(r.hit.Host); ok {
			jl.Hosts[k]++
		}
	}
}

// advance moves the log clock to t, first lifting every ban that ended by
// then so that decisions come out in time order.
func (e *Engine) advance(t time.Time) {
	if t.After(e.logTime) {
		e.logTime = t
	}
	if !e.next.IsZero() && !t.Before(e.next) {
		e.Expire(t)
	}
}

func (e *Engine) noteBan(d jail.Decision) {
	if e.next.IsZero() || d.Until.Before(e.next) {
		e.next = d.Until
	}
	e.emit(d)
}

func (e *Engine) emit(d jail.Decision) {
	if e.opts.OnDecision != nil {
		e.opts.OnDecision(d)
	}
}

// Expire lifts every ban that ended by now, in time order across jails. Call
// it from inside Do (or from a callback of Run).
func (e *Engine) Expire(now time.Time) {
	var all []jail.Decision
	for _, jl := range e.jails {
		all = append(all, jl.Jail.Expire(now)...)
	}
	sortByAt(all)
	for _, d := range all {
		e.emit(d)
	}
	e.next = time.Time{}
	for _, jl := range e.jails {
		if t, ok := jl.Jail.NextExpiry(); ok && (e.next.IsZero() || t.Before(e.next)) {
			e.next = t
		}
	}
}

// LogTime is the latest hit time seen.
func (e *Engine) LogTime() time.Time { return e.logTime }

func sortByAt(ds []jail.Decision) {
	// Few decisions at a time: insertion sort keeps equal times in jail order.
	for i := 1; i < len(ds); i++ {
		for k := i; k > 0 && ds[k].At.Before(ds[k-1].At); k-- {
			ds[k], ds[k-1] = ds[k-1], ds[k]
		}
	}
}
