package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/filter"
)

var (
	wantFail     = want{"a pattern", "'Failed login from <HOST>'"}
	wantLearn    = want{"a pattern", "'connected peer=<ID> addr=<HOST>'"}
	wantSelf     = want{"a pattern", "'^PeerID: <ID>$'"}
	wantRegex    = want{"a regular expression", `'^potential'`}
	wantPath     = want{"a field path", "remote_address, journal._SYSTEMD_UNIT"}
	wantCond     = want{"a condition", "error, [warn, error], {regex: '^x'}, {exists: true}"}
	wantJSONVal  = want{"a JSON value", "error, 42, true, null"}
	wantText     = want{"one line of text", "'brute force against the p2p port'"}
	egFilterBody = "{regex: {fail: ['Failed login from <HOST>']}}"
)

// located remembers the node behind one compiled part of a filter, so that
// an error from filter.New points at the pattern that caused it.
type located struct {
	key string
	n   *yaml.Node
}

type filterNodes struct {
	kind                *yaml.Node // the value of regex: or json:
	kindKey             string
	fail, ignore, match []located
	learn, self         []located
	prefix              located
}

// parseFilter reads and compiles one filter body (description, and regex or
// json). ok is false when it reported a problem.
func parseFilter(errs *errlist, name string, n *yaml.Node) (filter.Spec, bool) {
	s := scope{errs, fmt.Sprintf("filter %q", name)}
	before := errs.count()
	spec := filter.Spec{Name: name}
	var loc filterNodes
	seen, ok := s.mapping(n, "", egFilterBody, []handler{
		{"description", func(k string, v *yaml.Node) { spec.Description = s.text(v, k) }},
		{"regex", func(k string, v *yaml.Node) {
			loc.kind, loc.kindKey = v, k
			spec.Regex = s.regexBody(v, k, &loc)
		}},
		{"json", func(k string, v *yaml.Node) {
			loc.kind, loc.kindKey = v, k
			spec.JSON = s.jsonBody(v, k, &loc)
		}},
	})
	switch {
	case !ok:
	case seen["regex"] == nil && seen["json"] == nil:
		s.fail(n, "", "missing regex or json (e.g. %s)", egFilterBody)
	case seen["regex"] != nil && seen["json"] != nil:
		s.fail(seen["json"], "json", "a filter is regex or json, not both")
	}
	if errs.count() > before {
		return spec, false
	}
	if _, err := filter.New(spec); err != nil {
		s.compileError(err, &loc)
		return spec, false
	}
	return spec, true
}

func (s scope) text(n *yaml.Node, key string) string {
	v, ok := s.str(n, key, wantText)
	if ok && strings.ContainsAny(v, "\r\n") {
		s.fail(resolve(n), key, "must be one line (e.g. %s)", wantText.eg)
	}
	return v
}

// compileError points filter.New's complaint at the pattern's node.
func (s scope) compileError(err error, loc *filterNodes) {
	var pe *filter.PatternError
	if errors.As(err, &pe) {
		var parts []located
		switch pe.Field {
		case "fail":
			parts = loc.fail
		case "ignore":
			parts = loc.ignore
		case "match":
			parts = loc.match
		case "learn":
			parts = loc.learn
		case "self":
			parts = loc.self
		case "prefix":
			parts = []located{loc.prefix}
		}
		if pe.Index >= 0 && pe.Index < len(parts) && parts[pe.Index].n != nil {
			p := parts[pe.Index]
			s.fail(p.n, p.key, "%v", pe.Err)
			return
		}
	}
	s.fail(loc.kind, loc.kindKey, "%v", err)
}

func (s scope) regexBody(n *yaml.Node, path string, loc *filterNodes) *filter.RegexSpec {
	var r filter.RegexSpec
	seen, ok := s.mapping(n, path, "{fail: ['Failed login from <HOST>']}", []handler{
		{"fail", func(k string, v *yaml.Node) { r.Fail, loc.fail = s.patterns(v, k, wantFail) }},
		{"ignore", func(k string, v *yaml.Node) { r.Ignore, loc.ignore = s.patterns(v, k, wantRegex) }},
		{"learn", func(k string, v *yaml.Node) { r.Learn, loc.learn = s.patterns(v, k, wantLearn) }},
		{"self", func(k string, v *yaml.Node) { r.Self, loc.self = s.patterns(v, k, wantSelf) }},
	})
	if ok && seen["fail"] == nil {
		s.fail(n, path, "missing fail (e.g. fail: [%s])", wantFail.eg)
	}
	return &r
}

func (s scope) patterns(n *yaml.Node, key string, w want) ([]string, []located) {
	vals, items, _ := s.strings(n, key, w)
	locs := make([]located, len(items))
	for i, it := range items {
		locs[i] = located(it)
	}
	return vals, locs
}

// parseFilterBody reads one filter from a YAML node (a stock filter file, or
// a file given to `peerjail test-filter`) and compiles it. The filter is
// named after the file ("stock/ipfs-bitswap.yaml" → "ipfs-bitswap").
func parseFilterBody(file string, n *yaml.Node) (filter.Spec, error) {
	errs := &errlist{file: file}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil {
		errs.add(nil, fmt.Sprintf("filter %q", name), "", "empty filter (e.g. "+egFilterBody+")")
		return filter.Spec{}, errs.err()
	}
	if err := checkSize(file, n); err != nil {
		return filter.Spec{}, err
	}
	spec, _ := parseFilter(errs, name, n)
	return spec, errs.err()
}

// ParseFilterFile reads a file holding one filter body, as written under a
// config's filters: key, for `peerjail test-filter`. Problems wrap ErrInvalid.
func ParseFilterFile(path string) (filter.Spec, error) {
	data, err := readLimited(path)
	if err != nil {
		return filter.Spec{}, err
	}
	root, err := decode(path, data)
	if err != nil {
		return filter.Spec{}, err
	}
	return parseFilterBody(path, root)
}
