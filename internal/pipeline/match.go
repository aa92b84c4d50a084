package pipeline

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/logline"
	"github.com/peerjail/peerjail/internal/prefilter"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// sourceGroup is one distinct filter of a source and the source's jails
// that run it.
type sourceGroup struct {
	f filter.Filter
	// into is f when it can write its hit into the batch's memory (most
	// lines are misses, which then copy nothing); nil: call f.Match.
	into filter.IntoMatcher
	// scratch is f when it can also work in the batch's Scratch.
	scratch filter.ScratchMatcher
	jails   []int
}

// lineStamp is the stamp one detector found in a line, memoised for the
// other jails of the line that use the same detector.
type lineStamp struct {
	gen uint32
	at  time.Time
	ok  bool
}

// minPrefilter is the fewest distinct filters on a source for which the
// combined prefilter runs: one filter's own literal checks are the same
// search without the bookkeeping.
const minPrefilter = 2

// groupFilters numbers the distinct filters of jails: jails built from equal
// Specs (NewLane), or holding the same Filter value, share one. A Match
// depends only on the filter and the line, so they share its result.
func groupFilters(jails []*Lane) (groups []filter.Filter, group []int) {
	group = make([]int, len(jails))
	for j, jl := range jails {
		group[j] = -1
		for k := range j {
			if sameFilter(jails[k], jl) {
				group[j] = group[k]
				break
			}
		}
		if group[j] < 0 {
			group[j] = len(groups)
			groups = append(groups, jl.Filter)
		}
	}
	return groups, group
}

func sameFilter(a, b *Lane) bool {
	if a.filterKey != "" && a.filterKey == b.filterKey {
		return true
	}
	if a.Filter == nil || b.Filter == nil {
		return false
	}
	// Comparing interfaces whose dynamic type is not comparable panics.
	if t := reflect.TypeOf(a.Filter); t != reflect.TypeOf(b.Filter) || !t.Comparable() {
		return false
	}
	return a.Filter == b.Filter
}

// specKey identifies what a Spec matches: everything but its name and
// description. "" (no sharing) when the Spec cannot be encoded.
func specKey(s filter.Spec) string {
	s.Name, s.Description = "", ""
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	return string(b)
}

// plan works out what a line of s costs: each distinct filter of its jails
// once, the prefilter to skip those that cannot match, and one timestamp
// detector per datepattern.
func (s *Source) plan(e *Engine) error {
	s.detOf = make([]int, len(e.jails))
	pats := make(map[string]int)
	at := make(map[int]int) // engine group → index in s.groups
	for _, j := range s.jails {
		jl := e.jails[j]
		d, ok := pats[jl.DatePattern]
		if !ok {
			det, err := timestamp.NewDetector(timestamp.Options{Pattern: jl.DatePattern, Reference: s.ref})
			if err != nil {
				return err
			}
			d = len(s.dets)
			pats[jl.DatePattern] = d
			s.dets = append(s.dets, det)
		}
		s.detOf[j] = d
		g, ok := at[e.group[j]]
		if !ok {
			g = len(s.groups)
			at[e.group[j]] = g
			f := e.groups[e.group[j]]
			into, _ := f.(filter.IntoMatcher)
			scratch, _ := f.(filter.ScratchMatcher)
			s.groups = append(s.groups, sourceGroup{f: f, into: into, scratch: scratch})
		}
		s.groups[g].jails = append(s.groups[g].jails, j)
	}
	if len(s.groups) >= minPrefilter {
		reqs := make([]filter.Requirement, len(s.groups))
		for g := range s.groups {
			reqs[g] = filter.RequirementOf(s.groups[g].f)
		}
		s.pre = prefilter.New(reqs, prefilter.Auto)
	}
	return nil
}

// match runs each distinct filter of the batch's source once per line (only
// those the prefilter lets through) and dates the hits.
func (e *Engine) match(b *Batch) {
	b.seal()
	src := b.src
	nj := len(e.jails)
	n := len(b.Lines) * nj
	if cap(b.idx) < n {
		b.idx = make([]int32, n)
	}
	b.idx = b.idx[:n]
	clear(b.idx)
	b.res = b.res[:0]
	if words := (len(src.groups) + 63) / 64; cap(b.cand) < words {
		b.cand = make([]uint64, words)
	} else {
		b.cand = b.cand[:words]
	}
	if cap(b.times) < len(src.dets) {
		b.times = make([]lineStamp, len(src.dets))
	}
	b.times = b.times[:len(src.dets)]
	for i := range b.Lines {
		row := b.idx[i*nj : i*nj+nj]
		if b.bad[i] {
			for _, j := range src.jails {
				b.res = append(b.res, result{outcome: filter.Unparsed})
				row[j] = int32(len(b.res))
			}
			continue
		}
		l := &b.Lines[i]
		// A new generation forgets the previous line's stamps.
		b.gen++
		if b.gen == 0 {
			clear(b.times)
			b.gen = 1
		}
		if src.pre != nil {
			src.pre.Candidates(l.Text, b.cand, &b.sc)
		}
		for g := range src.groups {
			if src.pre != nil && !prefilter.Has(b.cand, g) {
				continue
			}
			sg := &src.groups[g]
			// The hit is written straight into the next result's memory
			// (MatchInto writes all of it unless it misses, and leaves it
			// alone then: most lines cost nothing here). Copying each hit
			// there from a Hit of the batch's own was a copy of 136 bytes
			// and the clearing of a result for every hit.
			first := len(b.res)
			if first == cap(b.res) {
				b.res = append(b.res, result{})
			}
			h := &b.res[:first+1][first].hit
			var out filter.Outcome
			switch {
			case sg.scratch != nil:
				// A batch is matched on one goroutine at a time.
				out = sg.scratch.MatchScratch(l, h, &b.msc)
			case sg.into != nil:
				out = sg.into.MatchInto(l, h)
			default:
				out = filter.MatchInto(sg.f, l, h)
			}
			if out == filter.Miss {
				b.res = b.res[:first]
				continue
			}
			b.res = b.res[:first+1]
			for n, j := range sg.jails {
				if n > 0 {
					b.res = append(b.res, result{hit: b.res[first].hit})
				}
				r := &b.res[len(b.res)-1]
				// Every field but hit, which the memory may hold from
				// an earlier batch.
				r.outcome, r.first = out, n == 0
				r.at, r.dated, r.read = time.Time{}, false, false
				if out == filter.Match || out == filter.Learned || r.hit.ID != "" {
					r.at, r.dated, r.read = b.lineTime(l, &r.hit, src, j)
				}
				row[j] = int32(len(b.res))
			}
		}
	}
}

// lineTime is the package's lineTime, with the stamp a detector finds in the
// line's text found once per line and detector, from the relay prefix the
// filter found (Hit.Prefix) and what the batch's last lines began with
// (timestamp.Recent).
func (b *Batch) lineTime(l *logline.Line, h *filter.Hit, src *Source, j int) (t time.Time, dated, read bool) {
	switch {
	case l.TimeIsExact:
		return l.Time, true, false
	case !h.Time.IsZero():
		return h.Time, true, false
	}
	d := src.detOf[j]
	ts := &b.times[d]
	if ts.gen != b.gen {
		ts.at, ts.ok = src.dets[d].FindRecent(l.Text, h.Prefix, &b.recent)
		ts.gen = b.gen
	}
	if ts.ok {
		return ts.at, true, false
	}
	return l.Time, !l.Time.IsZero(), true
}
