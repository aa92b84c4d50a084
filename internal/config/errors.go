package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid marks every error that is the config's fault rather than an I/O
// failure, so that the CLI can tell a bad config (exit code 2) from a broken
// system. Test it with errors.Is.
var ErrInvalid = errors.New("invalid config")

// Error is one problem in a config file, located at the YAML node that causes
// it. It prints as `FILE:LINE:COL: SCOPE: KEY: MSG`, the form editors jump to.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem has no place (file too large)
	Column int // 1-based; 0 when unknown
	// Scope is `jail "libp2p"`, `filter "my-json"`, `defaults` or empty.
	Scope string
	// Key is the path of the value inside Scope: "findtime",
	// "source.files[0]", "match.level"; empty for whole-file problems.
	Key string
	Msg string
	// rank is the place of File among the files one Load reads (the main
	// file is 0), so that problems are listed file by file.
	rank int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	for _, s := range []string{e.Scope, e.Key} {
		if s != "" {
			b.WriteString(s)
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// maxErrors bounds the report: a generated file with a million bad entries
// should not print a million lines.
const maxErrors = 50

// errlist collects the problems of one Load (the main file and those it
// includes), so that a single run of `peerjail check` shows all of them.
type errlist struct {
	file    string // the file being walked, which add blames
	rank    int    // its place in the order the files were read
	errs    []*Error
	dropped int // problems found after the list was full
}

// fileRef names one of the files of a Load, for problems found while
// walking another (a jail in an included file inherits a value set under
// the main file's defaults).
type fileRef struct {
	name string
	rank int
}

func (l *errlist) current() fileRef { return fileRef{l.file, l.rank} }

// at makes f the file that add blames.
func (l *errlist) at(f fileRef) { l.file, l.rank = f.name, f.rank }

func (l *errlist) add(n *yaml.Node, scope, key, msg string) {
	l.addIn(l.current(), n, scope, key, msg)
}

func (l *errlist) addIn(f fileRef, n *yaml.Node, scope, key, msg string) {
	e := &Error{File: f.name, Scope: scope, Key: key, Msg: msg}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.push(e, f.rank)
}

// push records an error made elsewhere (by decode) as a problem of the file
// ranked rank.
func (l *errlist) push(e *Error, rank int) {
	if l.full() {
		l.dropped++
		return
	}
	e.rank = rank
	l.errs = append(l.errs, e)
}

// count is the number of problems found so far, shown or not.
func (l *errlist) count() int { return len(l.errs) + l.dropped }

// full reports whether further problems will not be shown, so that callers
// can skip work on them.
func (l *errlist) full() bool { return len(l.errs) >= maxErrors }

// err returns the problems in file order joined into one error (one per
// line), or nil.
func (l *errlist) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, 0, len(l.errs)+1)
	for _, e := range l.errs {
		errs = append(errs, e)
	}
	if l.dropped > 0 {
		errs = append(errs, &Error{File: l.errs[len(l.errs)-1].File, Msg: fmt.Sprintf("%d more errors not shown", l.dropped)})
	}
	return errors.Join(errs...)
}

// suggest returns the known word closest to s when it is close enough to be
// a likely typo ("findtme" → "findtime"), or "": one edit per three letters,
// and at least one.
func suggest(s string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(s), strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(1, len(s)/3) {
		return ""
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// neighbours that turn a into b (optimal string alignment), in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Long keys are not typos of our short ones; skip the quadratic work.
		return max(len(a), len(b))
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// didYouMean formats a suggestion for s among known, as a clause that starts
// with "did you mean" or is empty.
func didYouMean(s string, known []string) string {
	if k := suggest(s, known); k != "" {
		return "did you mean " + k + "? "
	}
	return ""
}

// place is where n is in the file being walked, as FILE:LINE:COL.
func (l *errlist) place(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", l.file, n.Line, n.Column)
}
