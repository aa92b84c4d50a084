package config

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

var (
	yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	// flowColon finds `[::1]` and `[a, ::1]`: YAML cannot read a plain
	// value that starts with a colon inside brackets, a trap for IPv6.
	flowColon     = regexp.MustCompile(`[\[,]\s*::`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError rewrites the library's "yaml: line 3: msg" as "FILE:3: yaml: msg".
func syntaxError(file string, data []byte, err error) error {
	e := &Error{File: file, Msg: err.Error()}
	if m := unknownAnchor.FindStringSubmatch(e.Msg); m != nil {
		// The library gives no place; the first use of the name is it.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line, e.Column = position(data[:i])
		}
		return e
	}
	line, problem, ok := syntaxLine(e.Msg)
	if !ok {
		return e
	}
	if slices.Contains(parserProblems, problem) {
		line = locateProblem(data, problem, line)
	}
	e.Line, e.Msg = line, "yaml: "+problem
	lines := bytes.Split(data, []byte("\n"))
	if line <= len(lines) && flowColon.Match(lines[line-1]) {
		e.Msg += ` (inside [ ], quote addresses that start with a colon, e.g. ['::1'])`
	}
	return e
}

// parserProblems are the messages of the library's parser (as opposed to its
// scanner). For those it reports a 0-based line, and for both it leaves out
// line 1 entirely; syntaxLine undoes that.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// locateProblem finds the line a parser error is on. The library names the
// start of the enclosing block instead (for a badly indented key, the line of
// its parent), so look for the shortest prefix of the file, from line `from`
// on, that fails with the same problem. Big files keep the block's line.
func locateProblem(data []byte, problem string, from int) int {
	if len(data) > 256<<10 {
		return from
	}
	ends := lineEnds(data)
	failsAt := func(k int) bool { // do the first k lines fail with problem?
		var n yaml.Node
		err := safeDecode(yaml.NewDecoder(bytes.NewReader(data[:ends[k-1]])), &n)
		_, p, ok := syntaxLine(errString(err))
		return ok && p == problem
	}
	lo, hi := from, len(ends) // failsAt(hi) holds: it is the whole file
	if lo < 1 || lo > hi {
		return from
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if failsAt(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// position returns the 1-based line and column just after text.
func position(text []byte) (line, col int) {
	line = 1 + bytes.Count(text, []byte("\n"))
	last := bytes.LastIndexByte(text, '\n')
	return line, 1 + utf8.RuneCount(text[last+1:])
}

// lineEnds returns the offset after each line of data.
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// syntaxLine finds the 1-based line of a library error message and the
// message without it. ok is false for messages with no place (an unknown
// anchor).
func syntaxLine(msg string) (line int, problem string, ok bool) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		if slices.Contains(parserProblems, m[2]) {
			line++
		}
		return max(line, 1), m[2], true
	}
	problem, isYAML := strings.CutPrefix(msg, "yaml: ")
	if !isYAML || strings.HasPrefix(problem, "unknown anchor") || strings.HasPrefix(problem, "cannot parse") {
		return 0, "", false
	}
	return 1, problem, true
}

// checkText finds bytes YAML refuses (invalid UTF-8, control characters)
// and says where, since the library does not; such bytes usually mean the
// path names a binary file.
func checkText(file string, data []byte) error {
	line, col := 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			return &Error{File: file, Line: line, Column: col, Msg: "not UTF-8 text; is this really a config?"}
		case !printable(r):
			return &Error{File: file, Line: line, Column: col,
				Msg: fmt.Sprintf("control character %U is not allowed; is this really a config?", r)}
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		data = data[size:]
	}
	return nil
}

// printable is YAML 1.2's c-printable.
func printable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r < 0x20 || r == 0x7f:
		return false
	case r < 0x7f:
		return true
	}
	return r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}
