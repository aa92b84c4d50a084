package filter

import (
	"regexp/syntax"
	"unicode/utf8"
)

// byteSet is a set of bytes.
type byteSet [256]bool

// anchoredFirst returns the bytes that a match of expr, anchored at the
// start of the text (^ without (?m)), can begin with; nil when the pattern
// is not anchored or may begin with any byte or match the empty text. A
// line whose first byte is not in the set cannot match: one table lookup
// instead of a substring search, for each pattern of a filter with many.
func anchoredFirst(expr string) *byteSet {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return anchoredFirstOf(re.Simplify())
}

// anchoredFirstOf is anchoredFirst of a simplified regexp.
func anchoredFirstOf(re *syntax.Regexp) *byteSet {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	var set byteSet
	nullable, all := firstOf(&syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1:]}, &set)
	if nullable || all {
		return nil
	}
	return &set
}

// firstOf adds to set the bytes a match of re can begin with and reports
// whether re can match the empty string (so what follows it counts too) or
// may begin with any byte (all).
func firstOf(re *syntax.Regexp, set *byteSet) (nullable, all bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true, false
		}
		return false, addRune(set, re.Rune[0], re.Flags&syntax.FoldCase != 0)
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= utf8.RuneSelf {
				return false, true
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set[r] = true
			}
		}
		return false, false
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return true, false
	case syntax.OpCapture:
		return firstOf(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		_, all = firstOf(re.Sub[0], set)
		return true, all
	case syntax.OpPlus:
		return firstOf(re.Sub[0], set)
	case syntax.OpRepeat:
		n, a := firstOf(re.Sub[0], set)
		return n || re.Min == 0, a
	case syntax.OpConcat:
		for _, s := range re.Sub {
			n, a := firstOf(s, set)
			if a {
				return false, true
			}
			if !n {
				return false, false
			}
		}
		return true, false
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			n, a := firstOf(s, set)
			if a {
				return false, true
			}
			nullable = nullable || n
		}
		return nullable, false
	}
	return false, true
}

// addRune adds the first byte of r (both ASCII cases with fold); all is
// true for a rune outside ASCII folded, whose variants are not enumerated.
func addRune(set *byteSet, r rune, fold bool) (all bool) {
	if r >= utf8.RuneSelf {
		if fold {
			return true
		}
		var b [utf8.UTFMax]byte
		utf8.EncodeRune(b[:], r)
		set[b[0]] = true
		return false
	}
	set[r] = true
	if fold {
		if 'a' <= r && r <= 'z' {
			set[r-'a'+'A'] = true
		} else if 'A' <= r && r <= 'Z' {
			set[r-'A'+'a'] = true
		}
		if r == 'k' || r == 'K' || r == 's' || r == 'S' {
			return true // U+212A KELVIN, U+017F LONG S fold to them
		}
	}
	return false
}
