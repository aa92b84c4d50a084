package filter

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// requiredLiteral returns the longest literal text that every match of the
// regexp contains, or nil. It only looks where a literal is certain: runs of
// case-sensitive literals inside concatenations, captures and "one or more"
// repetitions; alternations and optional parts are skipped.
func requiredLiteral(expr string) []byte {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return longestIn(re.Simplify())
}

// simplified parses expr as requiredLiteral and its kin read it, nil when
// it does not parse: a filter's pattern is parsed once for all of them
// (each parse was as long as regexp.Compile's own).
func simplified(expr string) *syntax.Regexp {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return re.Simplify()
}

func longestIn(re *syntax.Regexp) []byte {
	switch re.Op {
	case syntax.OpLiteral:
		return literalBytes(re)
	case syntax.OpCapture, syntax.OpPlus:
		return longestIn(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return longestIn(re.Sub[0])
		}
	case syntax.OpConcat:
		return longestInConcat(re.Sub)
	}
	return nil
}

// longestInConcat joins adjacent literals ("ab" then "cd" is "abcd") and
// compares the result with what the other parts require.
func longestInConcat(subs []*syntax.Regexp) []byte {
	var best, run []byte
	for _, s := range subs {
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 {
			run = append(run, literalBytes(s)...)
			continue
		}
		if len(run) > len(best) {
			best = run
		}
		run = nil
		if inner := longestIn(s); len(inner) > len(best) {
			best = inner
		}
	}
	if len(run) > len(best) {
		best = run
	}
	return best
}

func literalBytes(re *syntax.Regexp) []byte {
	if re.Flags&syntax.FoldCase != 0 {
		return nil
	}
	var b []byte
	for _, r := range re.Rune {
		b = utf8.AppendRune(b, r)
	}
	return b
}

// requiredLiterals returns every literal run that each match of the regexp
// contains, found where requiredLiteral looks.
func requiredLiterals(expr string) [][]byte {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return literalsIn(re.Simplify(), nil)
}

func literalsIn(re *syntax.Regexp, out [][]byte) [][]byte {
	switch re.Op {
	case syntax.OpLiteral:
		if b := literalBytes(re); len(b) > 0 {
			out = append(out, b)
		}
	case syntax.OpCapture, syntax.OpPlus:
		out = literalsIn(re.Sub[0], out)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			out = literalsIn(re.Sub[0], out)
		}
	case syntax.OpConcat:
		var run []byte
		for _, s := range re.Sub {
			if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 {
				run = append(run, literalBytes(s)...)
				continue
			}
			if len(run) > 0 {
				out = append(out, run)
			}
			run = nil
			out = literalsIn(s, out)
		}
		if len(run) > 0 {
			out = append(out, run)
		}
	}
	return out
}

// otherLiterals returns the required literals of expr (requiredLiterals)
// that lit does not hold, each once, of at least minGate bytes: shorter
// ones are in most lines anyway.
func otherLiterals(lits [][]byte, lit []byte) [][]byte {
	var out [][]byte
	for _, l := range lits {
		if len(l) >= minGate && !bytes.Contains(lit, l) && !slices.ContainsFunc(out, func(o []byte) bool { return bytes.Equal(o, l) }) {
			out = append(out, l)
		}
	}
	return out
}

// afterLiteral orders also (otherLiterals of lits and lit) with those every
// match holds after lit last, and returns where they begin. lits are in the
// order a match holds them (literalsIn reads concatenations left to right,
// and descends only where a part occurs once or more, in its place): one
// of also that lits hold after lit's first place is, in any match, after an
// occurrence of lit, so after lit's first occurrence in the line.
func afterLiteral(lits [][]byte, lit []byte, also [][]byte) int {
	first := slices.IndexFunc(lits, func(l []byte) bool { return bytes.Equal(l, lit) })
	if first < 0 || len(lit) == 0 {
		return len(also)
	}
	isAfter := func(a []byte) bool {
		return slices.ContainsFunc(lits[first+1:], func(l []byte) bool { return bytes.Equal(l, a) })
	}
	slices.SortStableFunc(also, func(a, b []byte) int {
		switch x, y := isAfter(a), isAfter(b); {
		case x == y:
			return 0
		case y:
			return -1
		}
		return 1
	})
	return len(also) - len(slices.DeleteFunc(slices.Clone(also), func(a []byte) bool { return !isAfter(a) }))
}

func containsAll(text []byte, lits [][]byte) bool {
	for _, l := range lits {
		if !bytes.Contains(text, l) {
			return false
		}
	}
	return true
}

// minGate is the shortest common literal worth a check of its own.
const minGate = 4

// commonLiteral returns the longest text that every set in sets contains
// within one of its literals, or nil: a line without it matches none of the
// patterns the sets came from ("CANONICAL_PEER_STATUS" for every format of
// the libp2p filter).
func commonLiteral(sets [][][]byte) []byte {
	if len(sets) == 0 {
		return nil
	}
	var best []byte
	for _, lit := range sets[0] {
		for i := range lit {
			for j := len(lit); j-i > len(best) && j-i >= minGate; j-- {
				if inAll(lit[i:j], sets[1:]) {
					best = lit[i:j]
					break
				}
			}
		}
	}
	return best
}

func inAll(sub []byte, sets [][][]byte) bool {
	for _, set := range sets {
		found := false
		for _, lit := range set {
			if bytes.Contains(lit, sub) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
