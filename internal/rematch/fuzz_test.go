package rematch

import (
	"regexp"
	"slices"
	"testing"
)

// FuzzAgree is the differential test: for any pattern and line, the fast
// path's submatches equal regexp's.
func FuzzAgree(f *testing.F) {
	for _, p := range stockLike {
		f.Add(p, "Jul 27 00:00:00 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2")
	}
	f.Add(`(a*)*b`, "aaaab")
	f.Add(`(?:x|xy)+?z\b`, "xyxz z")
	f.Add(`^(\S+)\s+(\d*)$`, "abc 123")
	f.Add(`(?i)[a-f]{2,3}|q`, "AbCdq")
	f.Add(`((a)|b)*`, "abab")
	f.Fuzz(func(t *testing.T, pattern, line string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		m := New(re)
		want := re.FindSubmatchIndex([]byte(line))
		got := m.FindSubmatchIndex([]byte(line))
		if !slices.Equal(got, want) {
			t.Fatalf("pattern %q on %q:\n got %v\nwant %v", pattern, line, got, want)
		}
	})
}
