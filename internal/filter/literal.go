package filter

import (
	"regexp/syntax"
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
