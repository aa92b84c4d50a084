package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/filter"
)

func (s scope) jsonBody(n *yaml.Node, path string, loc *filterNodes) *filter.JSONSpec {
	var j filter.JSONSpec
	seen, ok := s.mapping(n, path, "{match: {level: error}, host: remote_address}", []handler{
		{"prefix", func(k string, v *yaml.Node) {
			j.Prefix, _ = s.str(v, k, wantRegex)
			loc.prefix = located{k, resolve(v)}
		}},
		{"match", func(k string, v *yaml.Node) { j.Match, loc.match = s.conditions(v, k) }},
		{"host", func(k string, v *yaml.Node) { j.Host = s.fieldPath(v, k) }},
		{"id", func(k string, v *yaml.Node) {
			// One path, or several tried in order (peer_id, then origin_id).
			for i, it := range s.items(v, k, wantPath) {
				if p := s.fieldPath(it.n, it.key); i == 0 {
					j.ID = p
				} else {
					j.FallbackIDs = append(j.FallbackIDs, p)
				}
			}
		}},
		{"time", func(k string, v *yaml.Node) { j.Time = s.fieldPath(v, k) }},
		// Lines that are no failure but name an identity with its address.
		{"learn", func(k string, v *yaml.Node) { j.Learn, loc.learn = s.conditions(v, k) }},
		{"self_id", func(k string, v *yaml.Node) { j.SelfID = s.fieldPath(v, k) }},
		// Another identity of the peer a learn line names (remote_node_id).
		{"also_id", func(k string, v *yaml.Node) { j.AlsoID = s.fieldPath(v, k) }},
	})
	switch {
	case !ok:
	case seen["match"] == nil:
		s.fail(n, path, "missing match (e.g. match: {level: error})")
	case seen["host"] == nil && seen["id"] == nil:
		s.fail(n, path, "missing host or id (e.g. host: remote_address)")
	}
	return &j
}

// fieldPath checks a dotted path into a JSON object: "a.b", no empty parts.
func (s scope) fieldPath(n *yaml.Node, key string) string {
	v, ok := s.str(n, key, wantPath)
	if ok && (v == "" || strings.Contains("."+v+".", "..")) {
		s.fail(resolve(n), key, "%s", wantPath.notA(v))
	}
	return v
}

// conditions reads the match mapping: field path → condition, in file order.
func (s scope) conditions(n *yaml.Node, path string) ([]filter.Condition, []located) {
	ps, ok := s.pairs(n, path, want{"a mapping of field → condition", "{level: error}"})
	if !ok {
		return nil, nil
	}
	if len(ps) == 0 {
		s.fail(resolve(n), path, "no conditions (e.g. {level: error})")
	}
	conds := make([]filter.Condition, 0, len(ps))
	locs := make([]located, 0, len(ps))
	for _, p := range ps {
		key := joinKey(path, p.k.Value)
		s.fieldPath(p.k, key)
		c, at := s.condition(p.v, key)
		c.Path = p.k.Value
		conds = append(conds, c)
		locs = append(locs, at)
	}
	return conds, locs
}

// condition reads one test: a scalar (equals), a list (one of), or
// {regex: ...} / {exists: ...}. It returns where the pattern is, for errors.
func (s scope) condition(n *yaml.Node, key string) (filter.Condition, located) {
	at := located{key, n}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" && isNull(n) {
			s.fail(n, key, "missing value (e.g. %s)", wantCond.eg)
			return filter.Condition{}, at
		}
		v, _ := s.jsonValue(n, key)
		return filter.Condition{Op: filter.OpEqual, Values: []any{v}}, at
	case yaml.SequenceNode:
		return s.oneOfCondition(n, key), at
	case yaml.MappingNode:
		return s.opCondition(n, key)
	}
	s.wrongKind(n, key, wantCond)
	return filter.Condition{}, at
}

func (s scope) oneOfCondition(n *yaml.Node, key string) filter.Condition {
	c := filter.Condition{Op: filter.OpOneOf}
	if len(n.Content) == 0 {
		s.fail(n, key, "an empty list matches nothing (e.g. [warn, error])")
	}
	for i, e := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		if e = resolve(e); e.Kind != yaml.ScalarNode {
			s.wrongKind(e, k, wantJSONVal)
			continue
		}
		v, _ := s.jsonValue(e, k)
		c.Values = append(c.Values, v)
	}
	return c
}

func (s scope) opCondition(n *yaml.Node, key string) (filter.Condition, located) {
	var c filter.Condition
	at := located{key, n}
	seen, ok := s.mapping(n, key, "{regex: '^x'}", []handler{
		{"regex", func(k string, v *yaml.Node) {
			c.Op = filter.OpRegex
			c.Regex, _ = s.str(v, k, wantRegex)
			at = located{k, resolve(v)}
		}},
		{"exists", func(k string, v *yaml.Node) {
			c.Op = filter.OpExists
			c.Exists, _ = s.boolean(v, k)
		}},
	})
	if ok && len(seen) != 1 {
		s.fail(n, key, "want exactly one of regex or exists (e.g. {regex: '^potential'} or {exists: true})")
	}
	return c, at
}

// jsonValue converts a YAML scalar to the value a JSON decoder would produce
// for the same text: string, float64, bool or nil.
func (s scope) jsonValue(n *yaml.Node, key string) (any, bool) {
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		return strings.EqualFold(n.Value, "true"), true
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			i, ierr := strconv.ParseInt(n.Value, 0, 64)
			f, err = float64(i), ierr
		}
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			s.fail(n, key, "%s", wantJSONVal.notA(n.Value))
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}
