package prefilter

// automaton is an Aho–Corasick automaton compiled to a dense DFA over byte
// classes: one table load per byte of the line, whatever the number of
// literals. Bytes that occur in no literal share one class, which keeps the
// table small enough for the cache.
type automaton struct {
	class [256]uint8
	ncls  int
	// delta[s+c] is the next state of state s (premultiplied by ncls) on
	// class c, also premultiplied.
	delta []int32
	// States at or after firstOut (premultiplied) end at least one literal;
	// numbering them last makes the test one comparison.
	firstOut int32
	// outs[(s-firstOut)/ncls] are the literals state s ends (its own and,
	// through the failure links, its suffixes').
	outs [][]int32
	// lead[c]: byte c leaves the start state; pairs has bit c<<8|d set
	// when some literal starts with c then d (with c, for one of one
	// byte). The scan skips other positions with a loop whose steps do
	// not wait on a table load, the chain that bounds the automaton's
	// speed; pairs skip far more than single bytes, since many words
	// start with a literal's first letter and few with its first two.
	lead  [256]bool
	pairs [1 << 16 / 64]uint64
}

func newAutomaton(lits [][]byte) *automaton {
	a := &automaton{}
	// Class 0 is every byte no literal holds.
	for _, lit := range lits {
		for _, c := range lit {
			if a.class[c] == 0 {
				a.ncls++
				a.class[c] = uint8(a.ncls)
			}
		}
	}
	a.ncls++
	if a.ncls > 256 {
		// Every byte value in some literal: classes no longer fit a
		// byte, and one class per byte is what 256 would mean anyway.
		for c := range a.class {
			a.class[c] = uint8(c)
		}
		a.ncls = 256
	}
	// The trie, with -1 for a missing edge.
	type node struct {
		next []int32
		fail int32
		out  []int32
	}
	newNode := func() node {
		n := node{next: make([]int32, a.ncls)}
		for i := range n.next {
			n.next[i] = -1
		}
		return n
	}
	trie := []node{newNode()}
	for id, lit := range lits {
		s := int32(0)
		for _, c := range lit {
			k := a.class[c]
			if trie[s].next[k] < 0 {
				trie[s].next[k] = int32(len(trie))
				trie = append(trie, newNode())
			}
			s = trie[s].next[k]
		}
		trie[s].out = append(trie[s].out, int32(id))
	}
	// Breadth first, so that a state's failure target is complete before
	// the state: missing edges become the failure target's edges (the DFA).
	queue := make([]int32, 0, len(trie))
	for k := range a.ncls {
		if t := trie[0].next[k]; t < 0 {
			trie[0].next[k] = 0
		} else {
			trie[t].fail = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := trie[s].fail
		trie[s].out = append(trie[s].out, trie[f].out...)
		for k := range a.ncls {
			t := trie[s].next[k]
			if t < 0 {
				trie[s].next[k] = trie[f].next[k]
				continue
			}
			trie[t].fail = trie[f].next[k]
			queue = append(queue, t)
		}
	}
	// Renumber: states without output first (the start state, which ends
	// no literal since literals are not empty, stays 0).
	order := make([]int32, len(trie))
	n := int32(0)
	for s := range trie {
		if len(trie[s].out) == 0 {
			order[s] = n
			n++
		}
	}
	first := n
	for s := range trie {
		if len(trie[s].out) > 0 {
			order[s] = n
			a.outs = append(a.outs, trie[s].out)
			n++
		}
	}
	for c := range 256 {
		a.lead[c] = trie[0].next[a.class[c]] != 0
	}
	for _, lit := range lits {
		if len(lit) == 1 {
			for d := range 256 {
				a.setPair(lit[0], byte(d))
			}
			continue
		}
		a.setPair(lit[0], lit[1])
	}
	ncls := int32(a.ncls)
	a.firstOut = first * ncls
	a.delta = make([]int32, len(trie)*a.ncls)
	for s := range trie {
		row := order[s] * ncls
		for k, t := range trie[s].next {
			a.delta[row+int32(k)] = order[t] * ncls
		}
	}
	return a
}

func (a *automaton) setPair(c, d byte) {
	x := uint(c)<<8 | uint(d)
	a.pairs[x/64] |= 1 << (x % 64)
}

// scan sets bit i of found for every literal i that occurs in text.
func (a *automaton) scan(text []byte, found []uint64) {
	delta, class, first, lead, pairs := a.delta, &a.class, a.firstOut, &a.lead, &a.pairs
	s := int32(0)
	for i := 0; i < len(text); i++ {
		if s == 0 {
			// From the start state, a byte that starts no literal with
			// the next one leads back to the start state after the next
			// one too, so the pair test may skip it.
			for i+1 < len(text) {
				x := uint(text[i])<<8 | uint(text[i+1])
				if pairs[x/64]&(1<<(x%64)) != 0 {
					break
				}
				i++
			}
			if i+1 == len(text) && !lead[text[i]] {
				return
			}
		}
		s = delta[s+int32(class[text[i]])]
		if s >= first {
			for _, id := range a.outs[(s-first)/int32(a.ncls)] {
				found[id/64] |= 1 << (id % 64)
			}
		}
	}
}
