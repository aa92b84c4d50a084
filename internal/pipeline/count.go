package pipeline

import (
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
)

// count feeds a matched batch to the jails in line order.
func (e *Engine) count(b *Batch) {
	e.mu.Lock()
	var now time.Time
	if e.opts.Now != nil {
		// Live, bans end by the daemon's clock, read once a batch: the
		// lines of a batch arrived together.
		now = e.opts.Now()
		if !e.next.IsZero() && !now.Before(e.next) {
			e.Expire(now)
		}
	}
	nj := len(e.jails)
	if !now.IsZero() && len(b.Lines) > 0 {
		for _, j := range b.src.jails {
			e.jails[j].Counts.LastRead = now
		}
	}
	for i := range b.Lines {
		e.line++
		row := b.idx[i*nj : i*nj+nj]
		for _, j := range b.src.jails {
			if k := row[j]; k > 0 {
				e.countOne(e.jails[j], b.src, &b.res[k-1], b.Lines[i].Text, now)
			} else {
				e.jails[j].Counts.Lines++
			}
		}
	}
	for _, jl := range e.jails {
		if jl.tally != nil {
			jl.tally.addrs.flush()
		}
	}
	e.mu.Unlock()
	if e.opts.AfterBatch != nil {
		e.opts.AfterBatch(b)
	}
	b.release()
}

func (e *Engine) countOne(jl *Lane, src *Source, r *result, text []byte, now time.Time) {
	c := &jl.Counts
	c.Lines++
	switch r.outcome {
	case filter.Miss:
		return
	case filter.Ignored:
		c.Ignored++
		return
	case filter.NoHost:
		if !jl.byID || r.hit.ID == "" {
			c.NoHost++
			if r.first && r.hit.SelfID != "" {
				e.learnSelf(r.hit.SelfID)
			}
			return
		}
	case filter.Unparsed:
		c.Unparsed++
		return
	case filter.Learned:
		if r.first {
			e.teach(&r.hit, e.learnTime(jl, src, r, now))
		}
		return
	}
	var at time.Time
	switch {
	case e.opts.Now != nil:
		at = e.liveTime(jl, r, now)
	case r.dated:
		at = e.replayTime(jl, src, r.at)
	default:
		c.Undated++
		return
	}
	if r.first {
		e.teach(&r.hit, at)
	}
	var d jail.Decision
	var k jail.Key
	var v jail.Verdict
	if e.opts.Now != nil {
		k, v = jl.Counter.AddLiveHit(&d, &r.hit, at, now, text)
	} else {
		k, v = jl.Counter.AddHit(&d, &r.hit, at, text)
	}
	switch v {
	case jail.IgnoredHost:
		c.Ignored++
		return
	case jail.AlreadyBanned:
		c.Banned++
	case jail.Banned:
		c.Bans++
		e.noteBan(d)
		e.feedRecidive(jl, d)
	}
	c.Matched++
	if v == jail.InvalidHost {
		return
	}
	switch {
	case jl.Hosts != nil:
		// A hit's identity may share its line's memory, and assigning
		// to a map replaces an equal string key with the new one.
		k.ID = strings.Clone(k.ID)
		jl.Hosts[k]++
	case jl.tally != nil:
		jl.tally.add(k)
	}
}

// liveTime is when a live hit counts. The daemon's clock is the truth: a
// line's stamp only places its hit among others, and one that lies more
// than MaxClockSkew ahead of the clock, or more than findtime behind it,
// is a broken clock or a lie (a line written to look old never fills a
// window; one written in the future would hold a ban past its end). Such a
// hit counts at the time it was read, and is counted as replaced.
func (e *Engine) liveTime(jl *Lane, r *result, now time.Time) time.Time {
	switch {
	case !r.dated || r.read:
		return now
	case r.at.Sub(now) > jl.skew():
		jl.Counts.FutureTime++
		return now
	case now.Sub(r.at) > jl.findTime:
		jl.Counts.PastTime++
		return now
	}
	if r.at.After(e.logTime) {
		e.logTime = r.at
	}
	return r.at
}

// replayTime is when a replayed hit counts: at its stamp, which moves the
// replay's clock, unless the stamp jumped out of order. Log times are not
// checked against each other going forward (a quiet hour is no fault), but
// a line cannot have been written after its file was last modified, so a
// stamp more than MaxClockSkew past the source's reference is out of order;
// so is one more than findtime before the latest time of its source. An
// out-of-order hit counts at the time its source had reached (before its
// first dated line: the replay's clock, or the reference) and moves no
// clock, so that one stamp cannot end every ban or make later lines old.
func (e *Engine) replayTime(jl *Lane, src *Source, t time.Time) time.Time {
	ref := src.ref()
	if t.Sub(ref) <= jl.skew() && (src.latest.IsZero() || src.latest.Sub(t) <= jl.findTime) {
		if t.After(src.latest) {
			src.latest = t
		}
		e.advance(t)
		return t
	}
	jl.Counts.OutOfOrder++
	switch {
	case !src.latest.IsZero():
		return src.latest
	case !e.logTime.IsZero():
		return e.logTime
	}
	return ref
}

func (jl *Lane) skew() time.Duration {
	if jl.MaxClockSkew > 0 {
		return jl.MaxClockSkew
	}
	return config.DefaultMaxClockSkew
}

// advance moves the replay's clock to t, first lifting every ban that ended
// by then so that decisions come out in time order.
func (e *Engine) advance(t time.Time) {
	if t.After(e.logTime) {
		e.logTime = t
	}
	if !e.next.IsZero() && !t.Before(e.next) {
		e.Expire(t)
	}
}

func (e *Engine) noteBan(d jail.Decision) {
	e.bans++
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
		all = append(all, jl.Counter.Expire(now)...)
	}
	sortByAt(all)
	for _, d := range all {
		e.emit(d)
	}
	e.next = time.Time{}
	for _, jl := range e.jails {
		if t, ok := jl.Counter.NextExpiry(); ok && (e.next.IsZero() || t.Before(e.next)) {
			e.next = t
		}
	}
}

// LogTime is the latest hit time taken in order: replay's clock.
func (e *Engine) LogTime() time.Time { return e.logTime }

func sortByAt(ds []jail.Decision) {
	// Few decisions at a time: insertion sort keeps equal times in jail order.
	for i := 1; i < len(ds); i++ {
		for k := i; k > 0 && ds[k].At.Before(ds[k-1].At); k-- {
			ds[k], ds[k-1] = ds[k-1], ds[k]
		}
	}
}
