package filter

import (
	"slices"
	"testing"

	"github.com/peerjail/peerjail/internal/logline"
)

// afterLiteral puts last, and counts, the other literals that every match
// holds after the longest one.
func TestAfterLiteral(t *testing.T) {
	tests := []struct {
		expr        string
		before      []string
		after       []string
		wantLiteral string
	}{
		{`canonical-log\s+CANONICAL_PEER_STATUS: peer=\S+ addr=(\S+)`, []string{"canonical-log"}, []string{" addr="}, "CANONICAL_PEER_STATUS: peer="},
		{`(?:ab+)+ xy zzzzzz+ q (?:wxyz)+`, nil, []string{"wxyz"}, " xy zzzzz"},
		{`abcd.*longest literal.*abcd`, nil, []string{"abcd"}, "longest literal"},
		{`(?:left|right) side longest (?:x|y)tail`, nil, []string{"tail"}, " side longest "},
		{`head .* (?:and )+longest literal`, []string{"head ", "and "}, nil, "longest literal"},
	}
	for _, tt := range tests {
		simp := simplified(tt.expr)
		lit, lits := longestIn(simp), literalsIn(simp, nil)
		if string(lit) != tt.wantLiteral {
			t.Fatalf("%q: literal %q, want %q", tt.expr, lit, tt.wantLiteral)
		}
		also := otherLiterals(lits, lit)
		n := afterLiteral(lits, lit, also)
		var before, after []string
		for i, a := range also {
			if i < n {
				before = append(before, string(a))
			} else {
				after = append(after, string(a))
			}
		}
		if !slices.Equal(before, tt.before) || !slices.Equal(after, tt.after) {
			t.Errorf("%q: before %q after %q, want %q and %q", tt.expr, before, after, tt.before, tt.after)
		}
	}
}

// FuzzLiteralChecks: the literal checks before a pattern runs (the gate,
// the literal, the others before and after it) reject only lines that no
// failure pattern matches.
func FuzzLiteralChecks(f *testing.F) {
	f.Add(`canonical-log\s+CANONICAL_PEER_STATUS: peer=\S+ addr=<HOST>`, "x addr=1 canonical-log CANONICAL_PEER_STATUS: peer=a addr=1.2.3.4")
	f.Add(`canonical-log\s+CANONICAL_PEER_STATUS: peer=\S+ addr=<HOST>`, "canonical-log CANONICAL_PEER_STATUS: peer=a CANONICAL_PEER_STATUS: peer=b addr=1.2.3.4")
	f.Add(`^<PREFIX:ipfs>abcd .*longest literal.* abcd <HOST>`, "Dec  1 08:56:14 h ipfs[1]: abcd longest literal abcd longest literal abcd 1.2.3.4")
	f.Add(`<PREFIX>wxyz (?:longest literal|x) wxyz <HOST>`, "wxyz x wxyz longest literal 1.2.3.4")
	f.Fuzz(func(t *testing.T, tmpl, line string) {
		fl, err := NewRegex("fuzz", &RegexSpec{Fail: []string{tmpl}})
		if err != nil {
			return
		}
		want := false
		for _, p := range fl.fail {
			var pl prefixedLine
			if msg, ok := pl.message([]byte(line), &p.prefix); ok && p.re.Match(msg) {
				want = true
			}
		}
		_, out := fl.Match(&logline.Line{Text: []byte(line)})
		if got := out != Miss; got != want {
			t.Fatalf("%q on %q: %v, the patterns alone say matched=%v", tmpl, line, out, want)
		}
	})
}
