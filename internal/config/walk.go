package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scope walks one part of the document (a jail, a filter, the defaults) and
// records its problems under that part's name. The walker, not the YAML
// library, enforces strictness: the library's KnownFields does not reach
// into nodes decoded by hand.
type scope struct {
	errs *errlist
	name string
}

func (s scope) fail(n *yaml.Node, key, format string, args ...any) {
	s.errs.add(n, s.name, key, fmt.Sprintf(format, args...))
}

// want describes an expected value for messages: "is not a duration (e.g. 10m)".
type want struct{ what, eg string }

func (w want) notA(v string) string { return fmt.Sprintf("%q is not %s (e.g. %s)", v, w.what, w.eg) }

// wrongKind reports n, which is not even the right kind of node for w.
func (s scope) wrongKind(n *yaml.Node, key string, w want) {
	if isNull(n) {
		s.fail(n, key, "missing value (e.g. %s)", w.eg)
		return
	}
	s.fail(n, key, "got %s, want %s (e.g. %s)", describe(n), w.what, w.eg)
}

type pair struct{ k, v *yaml.Node }

// pairs returns the entries of mapping n in file order, rejecting non-scalar
// and duplicate keys. ok is false when n is not a mapping.
func (s scope) pairs(n *yaml.Node, key string, w want) (ps []pair, ok bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		s.wrongKind(n, key, w)
		return nil, false
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			s.fail(k, key, "got %s as a key, want a name", describe(k))
		case k.Tag == "!!merge":
			s.fail(k, key, "merge keys (<<) are not supported; put shared settings under defaults")
		case seen[k.Value] != nil:
			s.fail(k, key, "%q appears twice (first at line %d)", k.Value, seen[k.Value].Line)
		default:
			seen[k.Value] = k
			ps = append(ps, pair{k, v})
		}
	}
	return ps, true
}

// handler parses the value of one known key; key is the full path for messages.
type handler struct {
	key string
	fn  func(key string, v *yaml.Node)
}

// mapping dispatches the entries of n to hs and reports unknown keys with
// the known ones and the likely intended one. It returns the keys it saw;
// ok is false when n is not a mapping or has an unknown key, and then the
// caller skips its "missing key" checks, as the unknown key is most likely
// the missing one misspelt. Handlers in misplaced catch keys that belong
// elsewhere, to say so; they are not listed among the known keys.
func (s scope) mapping(n *yaml.Node, path string, eg string, hs []handler, misplaced ...handler) (map[string]*yaml.Node, bool) {
	known := make([]string, len(hs))
	for i, h := range hs {
		known[i] = h.key
	}
	hs = append(hs[:len(hs):len(hs)], misplaced...)
	ps, ok := s.pairs(n, path, want{"a mapping", eg})
	if !ok {
		return nil, false
	}
	seen := make(map[string]*yaml.Node, len(ps))
	for _, p := range ps {
		i := slices.IndexFunc(hs, func(h handler) bool { return h.key == p.k.Value })
		if i < 0 {
			hint := ""
			if !s.errs.full() { // no one reads the hints past the cut
				hint = didYouMean(p.k.Value, known)
			}
			s.fail(p.k, joinKey(path, p.k.Value), "unknown key (%sknown keys: %s)", hint, quoteList(known))
			ok = false
			continue
		}
		seen[p.k.Value] = p.v
		hs[i].fn(joinKey(path, p.k.Value), p.v)
	}
	return seen, ok
}

func indexOf(words []string, w string) int {
	for i, x := range words {
		if x == w {
			return i
		}
	}
	return -1
}

// scalar returns n when it holds a non-null scalar, else reports it.
func (s scope) scalar(n *yaml.Node, key string, w want) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		s.wrongKind(n, key, w)
		return n, false
	}
	if t := n.ShortTag(); !strings.HasPrefix(t, "!!") {
		// An application tag (!foo) means something to some other program.
		s.fail(n, key, "tag %s is not supported (e.g. %s)", t, w.eg)
		return n, false
	}
	return n, true
}

func (s scope) str(n *yaml.Node, key string, w want) (string, bool) {
	n, ok := s.scalar(n, key, w)
	return n.Value, ok
}

var wantBool = want{"true or false", "true"}

func (s scope) boolean(n *yaml.Node, key string) (bool, bool) {
	n, ok := s.scalar(n, key, wantBool)
	if !ok {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	s.fail(n, key, "%s", wantBool.notA(n.Value))
	return false, false
}

// integer reads a decimal integer in [lo, hi].
func (s scope) integer(n *yaml.Node, key string, w want, lo, hi int) (int, bool) {
	n, ok := s.scalar(n, key, w)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil && !isRangeErr(err) {
		s.fail(n, key, "%s", w.notA(n.Value))
		return 0, false
	}
	if err != nil || v < lo || v > hi {
		s.fail(n, key, "%s is out of range %d..%d (e.g. %s)", n.Value, lo, hi, w.eg)
		return 0, false
	}
	return v, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// item is one element of a list value, with its key path for messages.
type item struct {
	key string
	n   *yaml.Node
}

// list returns the elements of a list, or a single scalar as a list of one
// (`files: /var/log/x.log`); ok is false for anything else.
func (s scope) list(n *yaml.Node, key string, w want) ([]item, bool) {
	n = resolve(n)
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		return []item{{key, n}}, true
	case n.Kind != yaml.SequenceNode:
		s.wrongKind(n, key, want{"a list", "[" + w.eg + "]"})
		return nil, false
	}
	items := make([]item, len(n.Content))
	for i, c := range n.Content {
		items[i] = item{fmt.Sprintf("%s[%d]", key, i), resolve(c)}
	}
	return items, true
}

// items is list for lists that must not be empty.
func (s scope) items(n *yaml.Node, key string, w want) []item {
	items, ok := s.list(n, key, w)
	if ok && len(items) == 0 {
		s.fail(resolve(n), key, "empty list (e.g. [%s])", w.eg)
	}
	return items
}

// strings reads a non-empty list of strings.
func (s scope) strings(n *yaml.Node, key string, w want) ([]string, []item, bool) {
	items := s.items(n, key, w)
	if len(items) == 0 {
		return nil, nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if v, ok := s.str(it.n, it.key, w); ok {
			out = append(out, v)
		}
	}
	return out, items, len(out) == len(items)
}
