package pipeline

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/prefilter"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// sourceGroup is one distinct filter of a source and the source's jails
// that run it.
type sourceGroup struct {
	f     filter.Filter
	jails []int
}

// lineStamp is a line's time as one detector found it, memoised for the
// other jails of the line that use the same detector.
type lineStamp struct {
	gen   uint32
	at    time.Time
	dated bool
	read  bool
}

// minPrefilter is the fewest distinct filters on a source for which the
// combined prefilter runs: one filter's own literal checks are the same
// search without the bookkeeping.
const minPrefilter = 2

// groupFilters numbers the distinct filters of jails: jails built from equal
// Specs (NewJail), or holding the same Filter value, share one. A Match
// depends only on the filter and the line, so they share its result.
func groupFilters(jails []*Jail) (groups []filter.Filter, group []int) {
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

func sameFilter(a, b *Jail) bool {
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
			s.groups = append(s.groups, sourceGroup{f: e.groups[e.group[j]]})
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
		if src.pre != nil {
			src.pre.Candidates(l.Text, b.cand, &b.sc)
		}
		for g := range src.groups {
			if src.pre != nil && !prefilter.Has(b.cand, g) {
				continue
			}
			sg := &src.groups[g]
			hit, out := sg.f.Match(l)
			if out == filter.Miss {
				continue
			}
			// The time depends on the line, the hit and the detector: a
			// new generation forgets the stamps of the previous hit.
			b.gen++
			if b.gen == 0 {
				clear(b.times)
				b.gen = 1
			}
			for _, j := range sg.jails {
				r := result{hit: hit, outcome: out}
				if out == filter.Match {
					ts := &b.times[src.detOf[j]]
					if ts.gen != b.gen {
						ts.at, ts.dated, ts.read = lineTime(l, hit, src.dets[src.detOf[j]])
						ts.gen = b.gen
					}
					r.at, r.dated, r.read = ts.at, ts.dated, ts.read
				}
				b.res = append(b.res, r)
				row[j] = int32(len(b.res))
			}
		}
	}
}
