// Package rematch finds regexp matches in ASCII log lines several times
// faster than package regexp, with exactly its results.
//
// Go's regexp runs about 10 ns per byte on the patterns log filters use, which
// caps a filter at a few hundred thousand lines per second. rematch runs the
// same compiled program (regexp/syntax.Prog) with the same leftmost-first
// backtracking semantics, but over bytes with lookup tables, scans greedy
// single-class loops such as \S+ or .* in a tight loop, and remembers failed
// (instruction, position) states only at branch points, which keeps the time
// linear in the line's length. Lines that are not ASCII, are long, or patterns
// it does not handle go to package regexp, so results never differ; a
// differential fuzz test holds it to that.
package rematch

import (
	"bytes"
	"encoding/binary"
	"math"
	"regexp"
	"regexp/syntax"
	"sync"
)

// maxLen is the longest line handled here; the failure memo is
// branches × (len+1) bits, cleared for each line.
const maxLen = 4096

type opcode uint8

const (
	opFail opcode = iota
	opMatch
	opByte  // one byte from table
	opRun   // greedy run of bytes from table, at least min
	opAlt   // try out, then arg
	opSave  // capture slot arg
	opEmpty // zero-width assertion (^, $, \b, ...)
	opNop
	opStr // the literal bytes lit
	opSeq // one byte from each of seq, in turn
)

// inst is one instruction, 64 bytes: a line's path through the libp2p
// pattern takes some forty steps, and as 120-byte instructions they were
// spread over twice the cache lines, which a replay's hash tables keep
// evicting between one matched line and the next. Indexes are int32: a
// program is at most math.MaxInt16 instructions (load).
type inst struct {
	op                opcode
	empty             syntax.EmptyOp
	nextEnd, disjoint bool  // opRun, see next
	memo              int32 // row in the failure memo, -1 if none
	out               int32
	arg               int32      // opAlt: the other branch; opSave: the slot; opSeq: index in Matcher.seqs
	min               int32      // opRun: the fewest bytes it takes
	one               int16      // opByte: the one byte it matches, or -1
	table             *[256]bool // bytes it takes; 256 entries, so that a byte indexes it unchecked
	// next (opRun) is the set of bytes the run's continuation can start
	// with, nil if any. Giving back a byte of the run only helps at
	// positions holding one of them. nextEnd says whether the continuation
	// can go on at the line's end, and disjoint that next and table share
	// no byte: then no shorter run can end where the continuation starts,
	// and the run leaves nothing to come back to.
	next *[256]bool
	// jump (opAlt) is, for each byte (128: the line's end), where the path
	// goes on: past the alternatives that have one branch able to go on
	// there (findJumps); the alternative itself when both can, -1 when
	// neither.
	jump *[129]int16
	lit  string // opStr; opRun: the literal before the run (fuseLeads)
}

// altOK says, for an alternative, at which byte (128: the line's end) each
// branch can go on: a branch whose every path must consume a byte other
// than the one at hand fails there, so it is not tried.
type altOK struct{ out, arg *[129]bool }

// Matcher matches one regexp.
type Matcher struct {
	re       *regexp.Regexp
	prog     []inst
	seqs     [][]*[256]bool // opSeq's tables
	start    int
	anchored bool
	prefix   []byte // literal every match starts with (unanchored search)
	nmemo    int
	ncap     int
	pool     sync.Pool
	once     sync.Once
	fast     bool
}

type state struct {
	visited []uint64
	caps    []int
	stack   []frame
	// memo says whether visited is used; without it, steps counts the
	// branch steps taken, up to budget.
	memo          bool
	steps, budget int
	// points is how many branch and run frames the stack holds: with none,
	// a failure ends the try, and a capture need not be restored.
	points int
}

type frameKind uint8

const (
	frBranch frameKind = iota
	frRestore
	frRun
)

// frame is 16 bytes: positions and capture values are below maxLen.
type frame struct {
	kind frameKind
	pc   int32
	pos  int32 // branch: position; restore: saved value; run: start
	cur  int32 // run: current end
}

// New prepares re. It never fails: a pattern the fast path cannot run is
// matched by re itself. The fast program is built at the first match: a
// configuration compiles every stock filter to check it, and runs few.
func New(re *regexp.Regexp) *Matcher {
	m := &Matcher{re: re, ncap: 2 * (re.NumSubexp() + 1)}
	m.pool.New = func() any { return &state{caps: make([]int, m.ncap)} }
	return m
}

// prepare builds the fast program once.
func (m *Matcher) prepare() bool {
	m.once.Do(func() {
		parsed, err := syntax.Parse(m.re.String(), syntax.Perl)
		if err != nil {
			return
		}
		prog, err := syntax.Compile(parsed.Simplify())
		if err != nil {
			return
		}
		m.fast = m.load(prog)
		if m.fast {
			prefix, _ := m.re.LiteralPrefix()
			m.prefix = []byte(prefix)
		}
	})
	return m.fast
}

// load translates prog; false if it uses something the fast path lacks.
func (m *Matcher) load(prog *syntax.Prog) bool {
	if len(prog.Inst) > math.MaxInt16 {
		return false // jump holds int16
	}
	m.prog = make([]inst, len(prog.Inst))
	tables := make(map[string]*[256]bool)
	for i := range prog.Inst {
		in := &prog.Inst[i]
		out := &m.prog[i]
		out.out, out.arg, out.memo = int32(in.Out), int32(in.Arg), -1
		switch in.Op {
		case syntax.InstFail:
			out.op = opFail
		case syntax.InstMatch:
			out.op = opMatch
		case syntax.InstNop:
			out.op = opNop
		case syntax.InstAlt, syntax.InstAltMatch:
			out.op = opAlt
		case syntax.InstCapture:
			out.op = opSave
		case syntax.InstEmptyWidth:
			out.op, out.empty = opEmpty, syntax.EmptyOp(in.Arg)
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			out.op, out.table = opByte, asciiTable(in, tables)
			out.one = -1
			if in.Op == syntax.InstRune1 && in.Rune[0] < 128 {
				out.one = int16(in.Rune[0])
			}
		default:
			return false
		}
	}
	m.start = prog.Start
	m.anchored = prog.StartCond()&syntax.EmptyBeginText != 0
	m.fuseRuns()
	m.fuseStrings()
	m.fuseSeqs()
	m.findJumps(m.findStarts())
	m.fuseLeads()
	for i := range m.prog {
		if op := m.prog[i].op; op == opAlt || op == opRun {
			m.prog[i].memo = int32(m.nmemo)
			m.nmemo++
		}
	}
	return true
}

func asciiTable(in *syntax.Inst, tables map[string]*[256]bool) *[256]bool {
	// Programs repeat classes (\S, \d) and letters: one table each.
	key := string(rune(in.Op)) + string(rune(syntax.Flags(in.Arg)&syntax.FoldCase)) + string(in.Rune)
	if t, ok := tables[key]; ok {
		return t
	}
	var t [256]bool
	if in.Op == syntax.InstRune1 {
		if r := in.Rune[0]; r < 128 {
			t[r] = true
		}
	} else {
		for r := rune(0); r < 128; r++ {
			t[r] = in.MatchRune(r)
		}
	}
	tables[key] = &t
	return &t
}

// fuseRuns turns the loops syntax.Compile emits for x* and x+ over a single
// byte class into one opRun:
//
//	x*:  L: alt → X, next     X: byte → L
//	x+:  X: byte → L          L: alt → X, next
//
// A loop is only fused when nothing else jumps into its middle.
func (m *Matcher) fuseRuns() {
	preds := make([]int, len(m.prog))
	for _, in := range m.prog {
		switch in.op {
		case opMatch, opFail:
		case opAlt:
			preds[in.out]++
			preds[in.arg]++
		default:
			preds[in.out]++
		}
	}
	preds[m.start]++
	for l := range m.prog {
		alt := m.prog[l]
		if alt.op != opAlt {
			continue
		}
		x := int(alt.out)
		body := m.prog[x]
		if body.op != opByte || int(body.out) != l {
			continue
		}
		switch {
		case preds[x] == 1: // x*: X is entered from L only; L becomes the run
			m.prog[l] = inst{op: opRun, table: body.table, min: 0, out: alt.arg}
		case preds[l] == 1: // x+: L is entered from X only; X becomes the run
			m.prog[x] = inst{op: opRun, table: body.table, min: 1, out: alt.arg}
		}
	}
}

// reachablePreds counts, for each instruction, the reachable instructions
// that lead to it (the start counts as one): the fused loops leave
// unreachable instructions behind, which must not stop a later fusion.
func (m *Matcher) reachablePreds() []int {
	preds := make([]int, len(m.prog))
	seen := make([]bool, len(m.prog))
	preds[m.start]++
	todo := []int{m.start}
	seen[m.start] = true
	for len(todo) > 0 {
		pc := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		in := m.prog[pc]
		var outs []int
		switch in.op {
		case opMatch, opFail:
		case opAlt:
			outs = []int{int(in.out), int(in.arg)}
		default:
			outs = []int{int(in.out)}
		}
		for _, o := range outs {
			preds[o]++
			if !seen[o] {
				seen[o] = true
				todo = append(todo, o)
			}
		}
	}
	return preds
}

// fuseStrings turns chains of one-byte instructions (a literal such as
// "CANONICAL_PEER_STATUS: peer=") into one opStr, compared at once. A chain
// only continues into an instruction nothing else jumps to, so no path
// enters a literal in its middle.
func (m *Matcher) fuseStrings() {
	preds := m.reachablePreds()
	for i := range m.prog {
		if preds[i] == 0 || m.prog[i].op != opByte || m.prog[i].one < 0 {
			continue
		}
		lit := []byte{byte(m.prog[i].one)}
		out := int(m.prog[i].out)
		for out != i && m.prog[out].op == opByte && m.prog[out].one >= 0 && preds[out] == 1 {
			lit = append(lit, byte(m.prog[out].one))
			out = int(m.prog[out].out)
		}
		if len(lit) > 1 {
			m.prog[i] = inst{op: opStr, lit: string(lit), table: m.prog[i].table, out: int32(out), memo: -1}
		}
	}
}

// fuseSeqs turns the chains of one-byte instructions that fuseStrings
// left (classes such as the \d{4}-\d\d-\d\dT of a timestamp) into one
// opSeq: the eleven steps of that stamp, each a dispatch of run's loop,
// were a fifth of the libp2p pattern's (BenchmarkPeerStatus). A chain
// continues only into an instruction nothing else jumps to, as in
// fuseStrings.
func (m *Matcher) fuseSeqs() {
	preds := m.reachablePreds()
	for i := range m.prog {
		if preds[i] == 0 || m.prog[i].op != opByte {
			continue
		}
		seq := []*[256]bool{m.prog[i].table}
		out := int(m.prog[i].out)
		for out != i && m.prog[out].op == opByte && preds[out] == 1 {
			seq = append(seq, m.prog[out].table)
			out = int(m.prog[out].out)
		}
		if len(seq) > 1 {
			m.prog[i] = inst{op: opSeq, arg: int32(len(m.seqs)), table: seq[0], out: int32(out), memo: -1}
			m.seqs = append(m.seqs, seq)
		}
	}
}

// findStarts returns each alternative's altOK and sets each run's next,
// from the bytes each instruction's paths can consume first, found by
// iterating to a fixed point (the program has loops). A path that can reach
// a match or a zero-width assertion without consuming can go on anywhere,
// except one whose assertion is $ (end of text), which can go on only at
// the line's end: that the libp2p pattern's (?:\s|$) cannot start at a '/'
// is what lets its multiaddr loop (?:/[^\s/]+)* run without a branch for
// each component.
func (m *Matcher) findStarts() []altOK {
	type starts struct {
		set      [2]uint64 // bytes a path can consume first
		anywhere bool      // some path consumes nothing before a match or an assertion
		atEnd    bool      // some path consumes nothing before $
		visited  bool
	}
	st := make([]starts, len(m.prog))
	addTable := func(x *starts, t *[256]bool) bool {
		changed := false
		for c, ok := range t[:128] {
			if ok && x.set[c/64]&(1<<(c%64)) == 0 {
				x.set[c/64] |= 1 << (c % 64)
				changed = true
			}
		}
		return changed
	}
	flag := func(f *bool) bool {
		if *f {
			return false
		}
		*f = true
		return true
	}
	merge := func(x *starts, y starts) bool {
		changed := false
		for w := range x.set {
			if x.set[w]|y.set[w] != x.set[w] {
				x.set[w] |= y.set[w]
				changed = true
			}
		}
		if y.anywhere {
			changed = flag(&x.anywhere) || changed
		}
		if y.atEnd {
			changed = flag(&x.atEnd) || changed
		}
		return changed
	}
	for changed := true; changed; {
		changed = false
		for pc := range m.prog {
			in := &m.prog[pc]
			x := &st[pc]
			switch in.op {
			case opByte, opStr, opSeq:
				if !x.visited {
					x.visited = true
					changed = addTable(x, in.table) || changed
				}
			case opRun:
				if !x.visited {
					x.visited = true
					changed = addTable(x, in.table) || changed
				}
				if in.min == 0 {
					changed = merge(x, st[in.out]) || changed
				}
			case opAlt:
				changed = merge(x, st[in.out]) || changed
				changed = merge(x, st[in.arg]) || changed
			case opSave, opNop:
				changed = merge(x, st[in.out]) || changed
			case opEmpty:
				// $ holds at the end only, where nothing after it
				// consumes; any other assertion, anywhere.
				if in.empty == syntax.EmptyEndText {
					changed = flag(&x.atEnd) || changed
				} else {
					changed = flag(&x.anywhere) || changed
				}
			case opMatch:
				changed = flag(&x.anywhere) || changed
			}
		}
	}
	ok := func(x starts) *[129]bool {
		var t [129]bool
		for c := range 128 {
			t[c] = x.anywhere || x.set[c/64]&(1<<(c%64)) != 0
		}
		t[128] = x.anywhere || x.atEnd
		return &t
	}
	oks := make([]altOK, len(m.prog))
	nexts := make(map[[2]uint64]*[256]bool) // one table for each set, as asciiTable's
	for pc := range m.prog {
		in := &m.prog[pc]
		switch in.op {
		case opAlt:
			oks[pc] = altOK{ok(st[in.out]), ok(st[in.arg])}
		case opRun:
			x := st[in.out]
			if x.anywhere {
				continue
			}
			next := nexts[x.set]
			if next == nil {
				next = new([256]bool)
				for c := range 128 {
					next[c] = x.set[c/64]&(1<<(c%64)) != 0
				}
				nexts[x.set] = next
			}
			disjoint := true
			for c := range 128 {
				disjoint = disjoint && !(next[c] && in.table[c])
			}
			in.next, in.nextEnd, in.disjoint = next, x.atEnd, disjoint
		}
	}
	return oks
}

// fuseLeads gives a run the literal before it ("/" before each [^\s/]+ of
// a multiaddr, "canonical-log" before [\t ]+), when nothing else jumps
// to the run: one step of run instead of two. It comes after findStarts
// and findJumps, which the fusion leaves true: the literal's instruction
// becomes the run, entered where the literal was, and what follows the
// run is what followed it.
func (m *Matcher) fuseLeads() {
	preds := m.reachablePreds()
	for i := range m.prog {
		in := &m.prog[i]
		var lit string
		switch {
		case preds[i] == 0:
			continue
		case in.op == opStr:
			lit = in.lit
		case in.op == opByte && in.one >= 0:
			lit = string(rune(in.one))
		default:
			continue
		}
		x := int(in.out)
		if x == i || preds[x] != 1 || m.prog[x].op != opRun || m.prog[x].lit != "" {
			continue
		}
		run := m.prog[x]
		run.lit = lit
		*in = run
	}
}

// findJumps sets each alternative's jump. A chain of alternatives that one
// byte decides (the host's three forms, then the multiaddr's protocols, each
// told apart by its first byte) is then one step of run instead of one for
// each alternative passed. The alternatives skipped would each have taken
// the one branch able to go on; skipping their failure memo only gives up
// a shortcut, and the path's next state is still checked against it.
func (m *Matcher) findJumps(oks []altOK) {
	for pc := range m.prog {
		if m.prog[pc].op != opAlt {
			continue
		}
		var j [129]int16
		for c := range j {
			j[c] = int16(m.resolve(oks, pc, c))
		}
		m.prog[pc].jump = &j
	}
}

// maxResolve bounds the alternatives resolve follows: a pattern such as
// (?:a?){1000} chains a thousand, and following each to its end at every
// byte would cost a configuration's load time quadratic in the pattern.
const maxResolve = 64

// resolve follows the alternatives from pc at byte c (findJumps). Past
// maxResolve of them, or around a loop of alternatives that consume
// nothing, it stops at the one reached, whose own jump goes on (run's
// failure memo ends such a loop).
func (m *Matcher) resolve(oks []altOK, pc, c int) int {
	at := pc
	for range maxResolve {
		in := &m.prog[at]
		ok := oks[at]
		switch {
		case in.op == opNop:
			at = int(in.out)
			continue
		case in.op != opAlt:
			return at
		case ok.out[c] && ok.arg[c]:
			return at
		case ok.out[c]:
			at = int(in.out)
		case ok.arg[c]:
			at = int(in.arg)
		default:
			return -1
		}
	}
	return at
}

// FindSubmatchIndex is regexp.Regexp.FindSubmatchIndex.
//
// The failure memo only saves work: a state that failed once fails again,
// so skipping it changes no result. A line is first run without it, within
// a budget of branch steps that a filter's line takes several times over;
// a line that spends the budget (a hostile one, built to make the pattern
// backtrack) is run again with the memo, which keeps it linear.
func (m *Matcher) FindSubmatchIndex(b []byte) []int {
	return m.AppendSubmatchIndex(nil, b)
}

// AppendSubmatchIndex is FindSubmatchIndex appending the indexes to
// dst[:0] (nil when there is no match): a caller with room for them, such
// as an array on its stack, makes a match allocate nothing.
func (m *Matcher) AppendSubmatchIndex(dst []int, b []byte) []int {
	return m.AppendSubmatchIndexWith(nil, dst, b)
}

// Scratch is the working memory of a match, for a caller that matches on
// one goroutine at a time: with its own, it spares a Matcher's pool, whose
// get and put (pinning the goroutine to its P each time) were some 10 ns
// of a libp2p line's 200 (BenchmarkScratch). The zero value is ready; one
// Scratch serves any Matchers, one call at a time.
type Scratch struct{ s state }

// AppendSubmatchIndexWith is AppendSubmatchIndex with sc's memory; nil
// takes it from the Matcher's pool.
func (m *Matcher) AppendSubmatchIndexWith(sc *Scratch, dst []int, b []byte) []int {
	if len(b) > maxLen || !isASCII(b) || !m.prepare() {
		if r := m.re.FindSubmatchIndex(b); r != nil {
			return append(dst[:0], r...)
		}
		return nil
	}
	if sc != nil {
		return m.appendWith(&sc.s, dst, b)
	}
	s := m.pool.Get().(*state)
	r := m.appendWith(s, dst, b)
	m.pool.Put(s)
	return r
}

// appendWith is AppendSubmatchIndexWith on the fast path, with s.
func (m *Matcher) appendWith(s *state, dst []int, b []byte) []int {
	if len(s.caps) != m.ncap {
		if cap(s.caps) < m.ncap {
			s.caps = make([]int, m.ncap)
		}
		s.caps = s.caps[:m.ncap]
	}
	s.memo, s.steps, s.budget = false, 0, budgetPerByte*len(b)+budgetBase
	if r, ok := m.search(s, b, dst); ok {
		return r
	}
	words := (m.nmemo*(len(b)+1) + 63) / 64
	if cap(s.visited) < words {
		s.visited = make([]uint64, words)
	}
	s.visited = s.visited[:words]
	clear(s.visited)
	s.memo = true
	r, _ := m.search(s, b, dst)
	return r
}

// The budget of a run without the memo: branch steps (alternatives, runs,
// give-backs) per byte of the line, and for any line.
const (
	budgetPerByte = 4
	budgetBase    = 256
)

// search finds the leftmost match; false when it ran out of budget.
func (m *Matcher) search(s *state, b []byte, dst []int) ([]int, bool) {
	if m.anchored {
		return m.try(s, b, 0, dst)
	}
	for pos := 0; pos <= len(b); pos++ {
		if len(m.prefix) > 0 {
			i := bytes.Index(b[pos:], m.prefix)
			if i < 0 {
				return nil, true
			}
			pos += i
		}
		if r, ok := m.try(s, b, pos, dst); r != nil || !ok {
			return r, ok
		}
	}
	return nil, true
}

// Match reports whether b contains a match.
func (m *Matcher) Match(b []byte) bool {
	if !m.prepare() {
		return m.re.Match(b)
	}
	return m.FindSubmatchIndex(b) != nil
}

// isASCII looks at 32 bytes at a time, in four independent words: it runs
// over every line a pattern is tried on, and eight at a time, one OR
// waiting for the last, took 5% of the libp2p filter's matching lines
// (BenchmarkIsASCII).
func isASCII(b []byte) bool {
	var or, or1, or2, or3 uint64
	for len(b) >= 32 {
		or |= binary.LittleEndian.Uint64(b)
		or1 |= binary.LittleEndian.Uint64(b[8:])
		or2 |= binary.LittleEndian.Uint64(b[16:])
		or3 |= binary.LittleEndian.Uint64(b[24:])
		b = b[32:]
	}
	or |= or1 | or2 | or3
	for len(b) >= 8 {
		or |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		or |= uint64(c)
	}
	return or&0x8080808080808080 == 0
}
