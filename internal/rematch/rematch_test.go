package rematch

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// agree checks that the fast path and regexp give the same submatches.
func agree(t testing.TB, re *regexp.Regexp, m *Matcher, line string) {
	t.Helper()
	want := re.FindSubmatchIndex([]byte(line))
	got := m.FindSubmatchIndex([]byte(line))
	if !slices.Equal(got, want) {
		t.Fatalf("pattern %q on %q:\n got %v\nwant %v", re, line, got, want)
	}
	var room [4]int
	if got := m.AppendSubmatchIndex(room[:], []byte(line)); !slices.Equal(got, want) {
		t.Fatalf("pattern %q on %q, appended:\n got %v\nwant %v", re, line, got, want)
	}
}

func TestAgreesWithRegexp(t *testing.T) {
	tests := []struct {
		pattern string
		lines   []string
	}{
		{`^(?:\S+ \d+ )?(\S+)[\t ]+x`, []string{"ab 12 cd x", "ab  x", "cd\tx", "a 1 b", ""}},
		{`from (\S+) port \d+$`, []string{"user x from 1.2.3.4 port 5 from 5.6.7.8 port 9", "from a port 1", "from  port 1"}},
		{`^Failed \S+ for .* from ([0-9.]+)(?: port \d+)?\s*$`, []string{"Failed password for root from 1.2.3.4 port 22", "Failed x for a from 1.1.1.1 from 2.2.2.2", "Failed x for from 1"}},
		{`a*?b`, []string{"aaab", "b", "aaa"}},
		{`(a|ab)(c|bcd)(d*)`, []string{"abcd", "acd"}},
		{`(?i)hello\b`, []string{"HeLLo world", "hellothere"}},
		{`(a*)*b`, []string{"aaaab", "aaaa"}},
		{`x{2,4}y`, []string{"xxxxxy", "xy", "xxy"}},
		{`(?m)^b$`, []string{"a\nb\nc", "b"}},
		{`(?:/[^\s/]+)*`, []string{"/a/b c", ""}},
		// giving back a run only where its continuation can start
		{`^.*(x)(yz|y)`, []string{"axyzxy", "xy xyz", "xxx", "yz"}},
		{`a+(b)?a`, []string{"aaab", "aaba", "a"}},
		{`(\d+)\d{2}$`, []string{"12345", "12", "123"}},
		{`\S+ (\S+)+ \d+$`, []string{"a b c 1", "a  1", "ab cd 12 x"}},
		// literals fused into one comparison, entered only at their start
		{`(a|ab)(c|bcd)(d*)`, []string{"abcd", "acd", "abc"}},
		{`(?:foo|foobar)bar`, []string{"foobarbar", "foobar", "fooba"}},
	}
	for _, tt := range tests {
		re := regexp.MustCompile(tt.pattern)
		m := New(re)
		if !m.prepare() {
			t.Errorf("%q: not on the fast path", tt.pattern)
		}
		for _, l := range tt.lines {
			agree(t, re, m, l)
		}
	}
}

// Non-ASCII and long lines take regexp's path and still give its results.
func TestFallbacks(t *testing.T) {
	re := regexp.MustCompile(`from (\S+)$`)
	m := New(re)
	for _, l := range []string{"from héllo", "from \xff\xfe", "from " + strings.Repeat("a", maxLen)} {
		agree(t, re, m, l)
	}
}

// The patterns that matter most: the stock filters' shapes on corpus lines.
func TestCorpusLines(t *testing.T) {
	lines := corpusLines(t)
	for _, p := range stockLike {
		re := regexp.MustCompile(p)
		m := New(re)
		for _, l := range lines {
			agree(t, re, m, l)
		}
	}
}

var stockLike = []string{
	`^(?:(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) \S+ [^\s\[:]+(?:\[\d+\])?: )?\d{4}-\d\d-\d\dT\S+[\t ]+[A-Za-z]+[\t ]+canonical-log[\t ]+\S+[\t ]+CANONICAL_PEER_STATUS: peer=\S+ addr=(?P<host>\[[0-9A-Fa-f:.%]+\](?::\d{1,5})?|/ip[46]/[0-9A-Fa-f:.]+(?:/[^\s/]+)*|[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*)(?:\s|$)`,
	`^(?:(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) \S+ sshd(?:-session|-auth)?(?:\[\d+\])?: )?(?:error: )?Failed \S+ for .* from (?P<host>\[[0-9A-Fa-f:.%]+\](?::\d{1,5})?|/ip[46]/[0-9A-Fa-f:.]+(?:/[^\s/]+)*|[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*) port \d+(?: ssh\d*)?(?:: [A-Z0-9][\w-]* (?:SHA256|MD5):[\w+/=:]+)?\s*$`,
	`^(?:(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) \S+ sshd(?:-session|-auth)?(?:\[\d+\])?: )?[iI](?:nvalid|llegal) user .* from (?P<host>[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*)(?: port \d+)?\s*$`,
	`CANONICAL_MISBEHAVING_PEER: peer=\S+ addr=(\S+)`,
}

// Lines built to make a pattern backtrack spend the budget of the run
// without the failure memo and are run again with it: without that second
// run these would take exponential time.
func TestHostileLines(t *testing.T) {
	tests := []struct{ pattern, line string }{
		{`^(?:a|ab|b)*c`, strings.Repeat("ab", 2000)},
		{`(?:x+x+)+y`, strings.Repeat("x", 3000)},
		{`^(?:\S+ )*\S+ from (\S+)$`, strings.Repeat("a ", 1500) + "from"},
	}
	for _, tt := range tests {
		re := regexp.MustCompile(tt.pattern)
		agree(t, re, New(re), tt.line)
	}
}

// A byte of 128 or more anywhere, in any of the 32-byte blocks' words or
// in the tail, makes a line non-ASCII.
func TestIsASCII(t *testing.T) {
	for n := range 80 {
		line := []byte(strings.Repeat("a", n))
		if !isASCII(line) {
			t.Fatalf("%d ASCII bytes: not ASCII", n)
		}
		for i := range n {
			for _, c := range []byte{0x80, 0xff} {
				line[i] = c
				if isASCII(line) {
					t.Fatalf("byte %#x at %d of %d: ASCII", c, i, n)
				}
				line[i] = 'a'
			}
		}
	}
}

// One Scratch, passed to matchers of different patterns in turn (fewer and
// more submatches, lines that need the failure memo), gives regexp's
// results as the pool does.
func TestScratchAgrees(t *testing.T) {
	lines := corpusLines(t)
	pats := append([]string{`^(?:a|ab|b)*c`, `(\S+)`}, stockLike...)
	lines = append(lines, strings.Repeat("ab", 2000), "abc", "")
	var res []*regexp.Regexp
	var ms []*Matcher
	for _, p := range pats {
		re := regexp.MustCompile(p)
		res, ms = append(res, re), append(ms, New(re))
	}
	var s Scratch
	for _, l := range lines {
		for i, m := range ms {
			want := res[i].FindSubmatchIndex([]byte(l))
			if got := m.AppendSubmatchIndexWith(&s, nil, []byte(l)); !slices.Equal(got, want) {
				t.Fatalf("pattern %q on %q with a Scratch:\n got %v\nwant %v", pats[i], l, got, want)
			}
		}
	}
}

// corpusLines returns testdata/lines.log: lines of the corpora the stock
// filters run on.
func corpusLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/lines.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
