package filter

// The JSON filter reads lines with this hand-written scanner rather than
// encoding/json: Unmarshal decodes every key and value of a line into maps
// and strings (about 40 allocations and several microseconds for a flow-go
// line), while the filter needs two or three fields of lines arriving at a
// million per second. The scanner walks the top-level object once, validates
// everything it passes over, descends only into objects that a configured
// path names, and records where the wanted values lie without copying them.
// Its agreement with encoding/json is checked by FuzzJSONScan.

const (
	// maxDepth bounds nesting so that no line can make the scanner work in
	// unbounded state; encoding/json allows 10000, log records need a few.
	maxDepth = 1000
	// maxJSONLine bounds the work per line: longer lines are not read.
	maxJSONLine = 1 << 20
	// maxSlots is how many distinct paths one filter may name; the values
	// found live in a fixed array on the stack of Match.
	maxSlots = 32
)

// jsonKind is the JSON type of a value found in a line.
type jsonKind uint8

const (
	kAbsent jsonKind = iota
	kString
	kNumber
	kTrue
	kFalse
	kNull
	kObject
	kArray
)

// valueSpan locates one value in the line. For a string it is the text between the
// quotes, still escaped when esc is set; for other kinds the value's text.
type valueSpan struct {
	start, end int32
	kind       jsonKind
	esc        bool
}

// scanLine reports whether b is exactly one JSON object with optional white
// space around it, and fills out with the values of the paths below root.
func scanLine(b []byte, root *pathNode, out []valueSpan) bool {
	if len(b) > maxJSONLine {
		return false
	}
	i := jsonSkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i, ok := scanObject(b, i, root, 1, out)
	return ok && jsonSkipWS(b, i) == len(b)
}

// scanObject reads the object at b[i] (a '{' at nesting depth) and returns the
// index after it. It recurses only along the path tree, so its depth is that
// of the longest path.
func scanObject(b []byte, i int, n *pathNode, depth int, out []valueSpan) (int, bool) {
	i = jsonSkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ks := i + 1
		ke, esc, ok := scanString(b, ks)
		if !ok {
			return 0, false
		}
		i = jsonSkipWS(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = jsonSkipWS(b, i+1)
		if k := n.child(b[ks:ke], esc); k != nil {
			i, ok = k.take(b, i, depth, out)
		} else {
			i, ok = skipValue(b, i, depth)
		}
		if !ok {
			return 0, false
		}
		i = jsonSkipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = jsonSkipWS(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// take reads the value of key k at b[i]: it forgets what an earlier occurrence
// of k left, records the value when a path ends at k, and descends when paths
// continue below k.
func (k *pathNode) take(b []byte, i, depth int, out []valueSpan) (int, bool) {
	clear(out[k.lo:k.hi])
	if i >= len(b) {
		return 0, false
	}
	var s valueSpan
	next := 0
	switch c := b[i]; {
	case c == '{' && len(k.kids) > 0:
		if depth >= maxDepth {
			return 0, false
		}
		end, ok := scanObject(b, i, k, depth+1, out)
		if !ok {
			return 0, false
		}
		s, next = valueSpan{start: int32(i), end: int32(end), kind: kObject}, end
	case c == '"':
		end, esc, ok := scanString(b, i+1)
		if !ok {
			return 0, false
		}
		s, next = valueSpan{start: int32(i + 1), end: int32(end), kind: kString, esc: esc}, end+1
	default:
		end, ok := skipValue(b, i, depth)
		if !ok {
			return 0, false
		}
		s, next = valueSpan{start: int32(i), end: int32(end), kind: kindOf(c)}, end
	}
	if k.slot >= 0 {
		out[k.slot] = s
	}
	return next, true
}

// kindOf is the kind of a valid value that begins with c.
func kindOf(c byte) jsonKind {
	switch c {
	case '"':
		return kString
	case 't':
		return kTrue
	case 'f':
		return kFalse
	case 'n':
		return kNull
	case '{':
		return kObject
	case '[':
		return kArray
	}
	return kNumber
}

func jsonSkipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue validates the value at b[i], inside a container at depth, and
// returns the index after it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		return skipComposite(b, i, depth)
	}
	return skipScalar(b, i)
}

func skipScalar(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i+1)
		return end + 1, ok
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	}
	return scanNumber(b, i)
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipComposite validates the object or array at b[i] without recursion: a
// bit per open level says whether it is an object, so nesting costs no stack.
func skipComposite(b []byte, i, depth int) (int, bool) {
	var objs [maxDepth/64 + 1]uint64
	open := 0
	for {
		var ok bool
		if c := b[i]; c == '{' || c == '[' {
			if depth+open >= maxDepth {
				return 0, false
			}
			if c == '{' {
				objs[open/64] |= 1 << (open % 64)
			} else {
				objs[open/64] &^= 1 << (open % 64)
			}
			open++
			i = jsonSkipWS(b, i+1)
			if i < len(b) && (b[i] == '}' && c == '{' || b[i] == ']' && c == '[') {
				open--
				i++
			} else {
				if c == '{' {
					if i, ok = skipKey(b, i); !ok {
						return 0, false
					}
				}
				if i >= len(b) {
					return 0, false
				}
				continue
			}
		} else if i, ok = skipScalar(b, i); !ok {
			return 0, false
		}
		// After a value: close levels until one continues with a comma.
		for {
			if open == 0 {
				return i, true
			}
			i = jsonSkipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			obj := objs[(open-1)/64]&(1<<((open-1)%64)) != 0
			if b[i] == ',' {
				i = jsonSkipWS(b, i+1)
				if obj {
					if i, ok = skipKey(b, i); !ok {
						return 0, false
					}
				}
				if i >= len(b) {
					return 0, false
				}
				break
			}
			if obj && b[i] == '}' || !obj && b[i] == ']' {
				open--
				i++
				continue
			}
			return 0, false
		}
	}
}

// skipKey reads `"key" :` and the white space after it.
func skipKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	end, _, ok := scanString(b, i+1)
	if !ok {
		return 0, false
	}
	i = jsonSkipWS(b, end+1)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return jsonSkipWS(b, i+1), true
}

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
