package rematch

import "regexp/syntax"

// try runs the program from position pos, leftmost-first: the first path
// that reaches opMatch wins, exactly as in regexp's backtracker.
// It returns false when it ran out of budget (see FindSubmatchIndex).
func (m *Matcher) try(s *state, b []byte, pos int, dst []int) ([]int, bool) {
	for i := range s.caps {
		s.caps[i] = -1
	}
	// Slots 0 and 1, the whole match, are not in the program: regexp sets
	// them itself, at the start and at opMatch.
	s.caps[0] = pos
	stride := len(b) + 1
	s.stack = append(s.stack[:0], frame{kind: frBranch, pc: int32(m.start), pos: int32(pos)})
	s.points = 1
	for len(s.stack) > 0 {
		f := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		pc, p := int(f.pc), int(f.pos)
		if f.kind != frRestore {
			s.points--
		}
		if !s.memo {
			if s.steps++; s.steps > s.budget {
				return nil, false
			}
		}
		switch f.kind {
		case frRestore:
			s.caps[f.pc] = int(f.pos)
			continue
		case frRun:
			// Give back one byte of a greedy run and go on after it.
			in := &m.prog[f.pc]
			low := p + int(in.min)
			end := giveBack(in, b, low, int(f.cur)-1)
			if end < low {
				continue
			}
			if end > low {
				s.stack = append(s.stack, frame{kind: frRun, pc: f.pc, pos: f.pos, cur: int32(end)})
				s.points++
			}
			pc, p = int(in.out), end
		}
		if m.run(s, b, pc, p, stride) {
			return append(dst[:0], s.caps...), true
		}
		if !s.memo && s.steps > s.budget {
			return nil, false
		}
	}
	return nil, true
}

// run follows one path until it matches (true) or fails (false), pushing
// the alternatives it passes for try to come back to.
func (m *Matcher) run(s *state, b []byte, pc, p, stride int) bool {
	// Held here, not read through m and s at each step: the stores into
	// s (its stack, its captures) made the compiler load them again.
	prog, memo := m.prog, s.memo
	for {
		in := &prog[pc]
		if in.memo >= 0 {
			if memo {
				bit := uint(int(in.memo)*stride + p)
				w, mask := bit/64, uint64(1)<<(bit%64)
				if s.visited[w]&mask != 0 {
					return false
				}
				s.visited[w] |= mask
			} else if s.steps++; s.steps > s.budget {
				return false
			}
		}
		switch in.op {
		case opByte:
			if p >= len(b) || !in.table[b[p]] {
				return false
			}
			p++
			pc = int(in.out)
		case opRun:
			if in.lit != "" {
				if len(b)-p < len(in.lit) || string(b[p:p+len(in.lit)]) != in.lit {
					return false
				}
				p += len(in.lit)
			}
			n := spanOf(in.table, b[p:])
			low := p + int(in.min)
			if n < int(in.min) {
				return false
			}
			// The whole run first; where what follows cannot start, the
			// longest shorter run whose end it can start at.
			end := p + n
			if in.next != nil && !canGoOn(in, b, end) {
				if in.disjoint {
					return false
				}
				if end = giveBack(in, b, low, end-1); end < low {
					return false
				}
			}
			if end > low && !in.disjoint {
				s.stack = append(s.stack, frame{kind: frRun, pc: int32(pc), pos: int32(p), cur: int32(end)})
				s.points++
			}
			p = end
			pc = int(in.out)
		case opStr:
			if len(b)-p < len(in.lit) || string(b[p:p+len(in.lit)]) != in.lit {
				return false
			}
			p += len(in.lit)
			pc = int(in.out)
		case opSeq:
			seq := m.seqs[in.arg]
			if len(b)-p < len(seq) {
				return false
			}
			w := b[p : p+len(seq)]
			for i, t := range seq {
				if !t[w[i]] {
					return false
				}
			}
			p += len(seq)
			pc = int(in.out)
		case opAlt:
			c := 128
			if p < len(b) {
				c = int(b[p])
			}
			switch t := int(in.jump[c]); {
			case t < 0:
				return false
			case t != pc:
				pc = t
			default:
				s.stack = append(s.stack, frame{kind: frBranch, pc: in.arg, pos: int32(p)})
				s.points++
				pc = int(in.out)
			}
		case opSave:
			if int(in.arg) < len(s.caps) {
				if s.points > 0 {
					s.stack = append(s.stack, frame{kind: frRestore, pc: in.arg, pos: int32(s.caps[in.arg])})
				}
				s.caps[in.arg] = p
			}
			pc = int(in.out)
		case opEmpty:
			if in.empty&^emptyAt(b, p) != 0 {
				return false
			}
			pc = int(in.out)
		case opNop:
			pc = int(in.out)
		case opMatch:
			s.caps[1] = p
			return true
		default:
			return false
		}
	}
}

// spanOf returns how many bytes at the start of b are in t. It is a call
// of its own: inside run, whose many live values spill, the loop's counter
// would go through memory at every byte.
//
//go:noinline
func spanOf(t *[256]bool, b []byte) int {
	_ = t[0] // the nil check, once
	i := 0
	for ; len(b)-i >= 4; i += 4 {
		w := b[i : i+4 : i+4]
		switch {
		case !t[w[0]]:
			return i
		case !t[w[1]]:
			return i + 1
		case !t[w[2]]:
			return i + 2
		case !t[w[3]]:
			return i + 3
		}
	}
	for ; i < len(b); i++ {
		if !t[b[i]] {
			return i
		}
	}
	return len(b)
}

// canGoOn reports whether the continuation of the run in can start at
// end, by in.next and in.nextEnd.
func canGoOn(in *inst, b []byte, end int) bool {
	if end == len(b) {
		return in.nextEnd
	}
	return in.next[b[end]]
}

// giveBack returns the largest end in [low, end] at which the run in can
// stop with its continuation able to start (in.next), or low-1 if none.
// The skipped ends would fail at the continuation's first byte, having
// passed only captures and no-ops: skipping them changes no result.
func giveBack(in *inst, b []byte, low, end int) int {
	if in.next == nil {
		return end
	}
	for end >= low && !in.next[b[end]] {
		end--
	}
	return end
}

// emptyAt returns the zero-width conditions that hold at position p.
func emptyAt(b []byte, p int) syntax.EmptyOp {
	r1, r2 := rune(-1), rune(-1)
	if p > 0 {
		r1 = rune(b[p-1])
	}
	if p < len(b) {
		r2 = rune(b[p])
	}
	return syntax.EmptyOpContext(r1, r2)
}
