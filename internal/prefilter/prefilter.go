// Package prefilter decides, with one pass over a line, which of several
// filters can match it. Several jails on one source used to run every
// filter on every line, so each extra jail cost as much as the first; the
// pipeline now scans each line once for the literals all its filters
// require (filter.Requirement) and runs only the filters that can match.
package prefilter

import (
	"bytes"
	"math/bits"
	"slices"
	"strings"

	"github.com/peerjail/peerjail/internal/filter"
)

// Strategy is how a Set looks for its literals.
type Strategy uint8

const (
	// Auto picks Index for few literals and Automaton for many (see
	// BenchmarkStrategies: bytes.Index is vectorised, so it wins until the
	// number of literals makes one pass over the line cheaper).
	Auto Strategy = iota
	// Index searches for each literal in turn, from its rarest byte.
	Index
	// Automaton runs an Aho–Corasick automaton over the line once.
	Automaton
)

// indexUpTo is the most literals Auto searches with bytes.Index; measured
// by BenchmarkCrossover (and BenchmarkStrategies) on the bench mix's literals.
const indexUpTo = 6

// Set holds the requirements of a source's filters. It is immutable and
// safe for concurrent use.
type Set struct {
	filters []want
	lits    [][]byte
	anchors []int      // per literal, the index of its rarest byte
	ac      *automaton // nil: bytes.Index per literal
	words   int        // uint64 words of a literal bit set
}

// want is one filter's requirement over literal numbers.
type want struct {
	always bool
	longer int
	// any are alternatives, each a bit set of literal numbers (words long).
	any [][]uint64
}

// New builds a Set over reqs; filter i of Candidates is reqs[i].
func New(reqs []filter.Requirement, s Strategy) *Set {
	set := &Set{}
	ids := make(map[string]int)
	var alts [][][]int
	for _, r := range reqs {
		var fa [][]int
		if g := common(r.Any); g != nil {
			// Every alternative needs g: looking for it alone lets
			// through a few more lines (the filter then misses them) for
			// fewer literals to look for.
			r.Any = [][][]byte{{g}}
		}
		for _, alt := range r.Any {
			var nums []int
			for k, lit := range alt {
				if len(lit) == 0 || implied(alt, k) {
					continue
				}
				lit = rareSuffix(lit)
				id, ok := ids[string(lit)]
				if !ok {
					id = len(set.lits)
					ids[string(lit)] = id
					set.lits = append(set.lits, lit)
				}
				nums = append(nums, id)
			}
			fa = append(fa, nums)
		}
		alts = append(alts, fa)
	}
	set.words = (len(set.lits) + 63) / 64
	for _, lit := range set.lits {
		set.anchors = append(set.anchors, rarest(lit))
	}
	for i, r := range reqs {
		w := want{always: r.Always(), longer: r.Longer}
		for _, nums := range alts[i] {
			if len(nums) == 0 {
				// An alternative without literals holds on every line.
				w.always = true
			}
			bs := make([]uint64, set.words)
			for _, n := range nums {
				bs[n/64] |= 1 << (n % 64)
			}
			w.any = append(w.any, bs)
		}
		set.filters = append(set.filters, w)
	}
	if s == Automaton || s == Auto && len(set.lits) > indexUpTo {
		set.ac = newAutomaton(set.lits)
	}
	return set
}

// Len returns the number of filters.
func (s *Set) Len() int { return len(s.filters) }

// Literals returns the number of distinct literals searched for.
func (s *Set) Literals() int { return len(s.lits) }

// Scratch is per-goroutine working memory for Candidates.
type Scratch struct {
	found []uint64
}

// Candidates sets bit i of dst (which must hold Len() bits) for every filter
// i that can return something other than a Miss for text, and clears the
// others. It looks for parts of the literals (rareSuffix), so it may also
// set the bit of a filter that then misses, never leave one out.
func (s *Set) Candidates(text []byte, dst []uint64, sc *Scratch) {
	clear(dst)
	if cap(sc.found) < s.words {
		sc.found = make([]uint64, s.words)
	}
	found := sc.found[:s.words]
	clear(found)
	if s.ac != nil {
		s.ac.scan(text, found)
	} else {
		for i, lit := range s.lits {
			if contains(text, lit, s.anchors[i]) {
				found[i/64] |= 1 << (i % 64)
			}
		}
	}
	for i := range s.filters {
		w := &s.filters[i]
		if w.always || w.longer > 0 && len(text) > w.longer || holdsAny(w.any, found) {
			dst[i/64] |= 1 << (i % 64)
		}
	}
}

// common returns the longest literal every alternative holds, or nil (also
// for a single alternative, which is looked for as it is).
func common(alts [][][]byte) []byte {
	if len(alts) < 2 {
		return nil
	}
	var best []byte
	for _, lit := range alts[0] {
		if len(lit) <= len(best) {
			continue
		}
		in := true
		for _, alt := range alts[1:] {
			in = in && slices.ContainsFunc(alt, func(o []byte) bool { return bytes.Equal(o, lit) })
		}
		if in {
			best = lit
		}
	}
	return best
}

// implied reports whether another literal of alt holds alt[k] (a line that
// holds it holds alt[k] too), so alt[k] need not be looked for; of equal
// literals the first is kept.
func implied(alt [][]byte, k int) bool {
	for i, o := range alt {
		if i != k && len(o) >= len(alt[k]) && bytes.Contains(o, alt[k]) && (len(o) > len(alt[k]) || i < k) {
			return true
		}
	}
	return false
}

func holdsAny(alts [][]uint64, found []uint64) bool {
	for _, alt := range alts {
		ok := true
		for k, w := range alt {
			if found[k]&w != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Has reports whether bit i of a Candidates result is set.
func Has(dst []uint64, i int) bool { return dst[i/64]&(1<<(i%64)) != 0 }

// Count returns how many bits of a Candidates result are set.
func Count(dst []uint64) int {
	n := 0
	for _, w := range dst {
		n += bits.OnesCount64(w)
	}
	return n
}

// rareSuffix returns the part of lit from its rarest byte on, keeping at
// least minSuffix bytes (minShort of a shorter lit). A line that holds lit holds
// every part of it, so the requirement stays exact (a line may hold the
// part and not lit: its filter runs and misses); but the automaton leaves
// its start state only on a literal's first byte, and a literal starting
// with a space or a common letter would stop its fast skip at every word.
func rareSuffix(lit []byte) []byte {
	keep := min(len(lit), minSuffix)
	if keep < minSuffix {
		keep = min(len(lit), minShort)
	}
	best := 0
	for i := 0; i+keep <= len(lit); i++ {
		if rarity(lit[i]) > rarity(lit[best]) {
			best = i
		}
	}
	return lit[best:]
}

// minSuffix and minShort are the shortest parts of a literal rareSuffix
// keeps: long enough that the part is about as rare as the literal.
const (
	minSuffix = 8
	minShort  = 4
)

// rarest returns the index of lit's rarest byte.
func rarest(lit []byte) int {
	best := 0
	for i := range lit {
		if rarity(lit[i]) > rarity(lit[best]) {
			best = i
		}
	}
	return best
}

// contains is bytes.Contains(b, lit) by way of lit's rarest byte (at
// anchor): bytes.Index looks for the first byte, and a literal that starts
// with a space stops it at every word. When the rare byte turns out to be
// common in b, it hands over to bytes.Index, whose cost does not depend on
// the text (a hostile line full of that byte stays cheap).
func contains(b, lit []byte, anchor int) bool {
	c := lit[anchor]
	fails := 0
	for i := anchor; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return false
		}
		i += j
		start := i - anchor
		if start+len(lit) > len(b) {
			return false
		}
		if bytes.Equal(b[start:start+len(lit)], lit) {
			return true
		}
		if fails++; fails > 4+i/16 {
			return bytes.Contains(b[start+1:], lit)
		}
	}
	return false
}

// byFrequency lists the printable bytes from the commonest to the rarest
// in the real-format fixtures of go-libp2p, flow-go and OpenSSH
// (testdata/real, each program weighted alike).
const byFrequency = "e 01\"os2a:dnrit6c35pl._4uf,m789Tbh/=g-SAEINORwvPCMD[k]\\UyFxLZYHWKqG;JzjBQX{}V+@'#()>!$%&*<?^`|~"

// rarity ranks how rare a byte is in log text: the rank in byFrequency;
// tabs (go-log's separator) are common, other bytes rarer than any
// printable one.
func rarity(c byte) int {
	if c == '\t' {
		return 0
	}
	if i := strings.IndexByte(byFrequency, c); i >= 0 {
		return i
	}
	return len(byFrequency)
}
