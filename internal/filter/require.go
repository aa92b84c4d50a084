package filter

// Requirement is what a line must hold for a filter to return anything but
// a Miss. A caller that runs many filters over each line (several jails on
// one source) scans the line once for every filter's literals and runs only
// the filters whose requirement holds; see internal/prefilter. It is derived
// from the same checks Match makes first, so skipping a filter whose
// requirement fails changes no outcome.
type Requirement struct {
	// Any lists alternatives: the filter can return other than Miss only
	// for a line that contains every literal of at least one of them. Nil
	// means any line can (a pattern without a required literal).
	Any [][][]byte
	// Longer, when positive: a line longer than this can return other than
	// Miss whatever it contains (a JSON filter reports it Unparsed).
	Longer int
}

// Always reports whether every line can give something other than a Miss.
func (r Requirement) Always() bool { return len(r.Any) == 0 }

// requirer is implemented by the filters that know their requirement.
type requirer interface {
	requirement() Requirement
}

// RequirementOf returns f's requirement; for a filter that does not know
// one, every line is a candidate.
func RequirementOf(f Filter) Requirement {
	if r, ok := f.(requirer); ok {
		return r.requirement()
	}
	return Requirement{}
}

// requirement: Match tries the fail patterns on a line with the gate, then
// (on any line) the learn and self patterns, in turn, and skips one whose
// literal is missing (from the line, or from the message, a part of it);
// only a pattern's match leads to anything but a Miss.
func (f *RegexFilter) requirement() Requirement {
	var r Requirement
	for n, pats := range [][]pattern{f.fail, f.learn, f.self} {
		for i := range pats {
			var alt [][]byte
			if n == 0 && len(f.gate) > 0 {
				alt = append(alt, f.gate)
			}
			if lit := pats[i].literal; len(lit) > 0 {
				alt = append(alt, lit)
			}
			if len(alt) == 0 {
				return Requirement{}
			}
			r.Any = append(r.Any, alt)
		}
	}
	return r
}

// requirement: Match reports a line longer than maxJSONLine Unparsed before
// the pre-check, and the pre-check (mayMatch) lets through lines that hold
// every needle, or every learn needle, or a \u escape. Journald conditions only add Misses.
func (f *JSONFilter) requirement() Requirement {
	if len(f.needles) == 0 || (f.learn != nil && len(f.learnNeedles) == 0) {
		return Requirement{}
	}
	r := Requirement{Any: [][][]byte{texts(f.needles)}, Longer: maxJSONLine}
	if f.learn != nil {
		r.Any = append(r.Any, texts(f.learnNeedles))
	}
	r.Any = append(r.Any, [][]byte{unicodeEscape})
	return r
}

func texts(ns []needle) [][]byte {
	all := make([][]byte, len(ns))
	for i := range ns {
		all[i] = ns[i].text
	}
	return all
}
