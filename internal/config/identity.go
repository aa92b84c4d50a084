package config

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/jail"
)

// Bounds of the correlation keys: an hour-long typo must not become a year,
// nor a cap the memory of a small machine cannot hold (about 250 bytes per
// identity, see internal/correlate's benchmarks).
const (
	maxCorrelationTTL = 30 * 24 * time.Hour
	maxCorrelationMax = 10_000_000
)

var (
	wantSelfID         = want{"an identity", "12D3KooWMBnErYU6SrccGrYebrCJofBv7ZfGbjpZFoMp4NLj2A7S"}
	wantCorrelationMax = want{"a whole number", "100000"}
	keyKinds           = []string{"host", "id"}
)

// identityHandlers parse the top-level keys about identities into cfg:
// self_ids, correlation_ttl, correlation_max.
func (s scope) identityHandlers(cfg *Config) []handler {
	return []handler{
		{"self_ids", func(k string, v *yaml.Node) { cfg.SelfIDs = s.selfIDs(v, k) }},
		{"correlation_ttl", func(k string, v *yaml.Node) {
			if d, ok := s.duration(v, k); ok {
				if d <= 0 || d > maxCorrelationTTL {
					s.fail(resolve(v), k, "%s is out of range (above 0, at most 30d; e.g. 1h)", resolve(v).Value)
					return
				}
				cfg.Correlation.TTL = d
			}
		}},
		{"correlation_max", func(k string, v *yaml.Node) {
			setIf(&cfg.Correlation.Max)(s.integer(v, k, wantCorrelationMax, 1, maxCorrelationMax))
		}},
	}
}

// selfIDs reads the node's own identities: each must read as an identity,
// not an address, or it would protect nothing.
func (s scope) selfIDs(n *yaml.Node, key string) []string {
	var out []string
	for _, it := range s.items(n, key, wantSelfID) {
		v, ok := s.str(it.n, it.key, wantSelfID)
		if !ok {
			continue
		}
		if k, err := jail.ParseKey(v, 0); err != nil || k.ID == "" || len(v) > 256 {
			s.fail(it.n, it.key, "%q is not an identity (a peer ID or node ID, e.g. %s); addresses go in ignoreip", v, wantSelfID.eg)
			continue
		}
		out = append(out, v)
	}
	return out
}

// keyKind reads a jail's key: host or id.
func (s scope) keyKind(n *yaml.Node, key string) (jail.KeyKind, bool) {
	v, ok := s.oneOf(n, key, "a key", keyKinds)
	if !ok {
		return 0, false
	}
	k, err := jail.ParseKeyKind(v)
	return k, err == nil
}

// defaultCorrelation is the table's bounds when the config sets none.
func defaultCorrelation() correlate.Config {
	return correlate.Config{TTL: correlate.DefaultTTL, Max: correlate.DefaultMax, MaxAddrs: correlate.DefaultMaxAddrs}
}
