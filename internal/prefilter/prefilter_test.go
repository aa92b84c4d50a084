package prefilter

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
)

// naive is the definition: a filter is a candidate when it always is, the
// line is longer than its limit, or the line holds every literal of one of
// its alternatives (suffix: what a Set looks for, the literal common to all
// alternatives if there is one, and the rareSuffix of every literal not
// implied by another).
func naive(reqs []filter.Requirement, text []byte, suffix bool) []bool {
	out := make([]bool, len(reqs))
	for i, r := range reqs {
		out[i] = r.Always() || r.Longer > 0 && len(text) > r.Longer
		if g := common(r.Any); suffix && g != nil {
			r.Any = [][][]byte{{g}}
		}
		for _, alt := range r.Any {
			all := true
			for k, lit := range alt {
				if suffix {
					if implied(alt, k) {
						continue
					}
					lit = rareSuffix(lit)
				}
				all = all && bytes.Contains(text, lit)
			}
			out[i] = out[i] || all
		}
	}
	return out
}

// TestCandidatesAgreeWithNaive: over random literals from a small alphabet
// (so that they overlap, nest and repeat) and random texts, both
// strategies give the naive answer for the literals' rare suffixes, and
// never leave out a filter whose full literals the line holds.
func TestCandidatesAgreeWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab c\"Z\\u"[rng.IntN(8)]
		}
		return b
	}
	for round := range 300 {
		var reqs []filter.Requirement
		for range 1 + rng.IntN(70) {
			var r filter.Requirement
			if rng.IntN(10) > 0 {
				for range 1 + rng.IntN(3) {
					var alt [][]byte
					for range 1 + rng.IntN(3) {
						alt = append(alt, word(1+rng.IntN(7)))
					}
					r.Any = append(r.Any, alt)
				}
			}
			if rng.IntN(5) == 0 {
				r.Longer = 30
			}
			reqs = append(reqs, r)
		}
		sets := []*Set{New(reqs, Index), New(reqs, Automaton), New(reqs, Auto)}
		dst := make([]uint64, (len(reqs)+63)/64)
		var sc Scratch
		for range 200 {
			text := word(rng.IntN(60))
			want := naive(reqs, text, true)
			full := naive(reqs, text, false)
			for k, s := range sets {
				s.Candidates(text, dst, &sc)
				n := 0
				for i, w := range want {
					if Has(dst, i) != w {
						t.Fatalf("round %d, strategy %d, filter %d %v, text %q: got %v", round, k, i, reqs[i], text, !w)
					}
					if full[i] && !w {
						t.Fatalf("filter %d holds with full literals, not with their suffixes: %q", i, text)
					}
					if w {
						n++
					}
				}
				if Count(dst) != n {
					t.Fatalf("Count %d, want %d", Count(dst), n)
				}
			}
		}
	}
}

func TestRareSuffix(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{" user ", "user "},
		{"msg=CANONICAL_PEER_STATUS peer=", "L_PEER_STATUS peer="},
		{"Failed password for ", "Failed password for "},
		{`\u`, `\u`},
		{"ab", "ab"},
	} {
		if got := rareSuffix([]byte(c.in)); string(got) != c.want {
			t.Errorf("rareSuffix(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
