package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Audit is the top-level `audit:` section: the trail of decisions beside
// the state file (internal/audit).
type Audit struct {
	// Enabled writes the trail; on unless `enabled: false`.
	Enabled bool
	// MaxSize is the size in bytes past which the file is rotated.
	MaxSize int64
	// Keep is how many rotated files are kept.
	Keep int
}

// Defaults of the audit section.
const (
	DefaultAuditMaxSize = 100_000_000 // 100MB
	DefaultAuditKeep    = 5
	maxAuditKeep        = 1000
)

// AuditSettings is the audit section with its defaults applied, also when
// the file has none.
func (c *Config) AuditSettings() Audit {
	if c.Audit == nil {
		return Audit{Enabled: true, MaxSize: DefaultAuditMaxSize, Keep: DefaultAuditKeep}
	}
	return *c.Audit
}

var (
	wantSize     = want{"a size", "100MB, 512KiB"}
	wantKeep     = want{"a whole number", "5"}
	errSizeUnits = errors.New("no unit")
)

const egAudit = "{max_size: 100MB, keep: 5}"

// audit reads the audit section into the config; a missing key keeps its
// default.
func (p *parser) audit(n *yaml.Node) {
	a := Audit{Enabled: true, MaxSize: DefaultAuditMaxSize, Keep: DefaultAuditKeep}
	s := scope{p.errs, "audit"}
	if n = dropNull(n); n != nil {
		s.mapping(n, "", egAudit, []handler{
			{"enabled", func(k string, v *yaml.Node) { a.Enabled, _ = s.boolean(v, k) }},
			{"max_size", func(k string, v *yaml.Node) {
				if b, ok := s.size(v, k); ok {
					a.MaxSize = b
				}
			}},
			{"keep", func(k string, v *yaml.Node) {
				if keep, ok := s.integer(v, k, wantKeep, 1, maxAuditKeep); ok {
					a.Keep = keep
				}
			}},
		})
	}
	p.cfg.Audit = &a
}

// size reads a byte count with its unit: B, KB, MB, GB (powers of 1000) or
// KiB, MiB, GiB (powers of 1024), at least 1KB.
func (s scope) size(n *yaml.Node, key string) (int64, bool) {
	n, ok := s.scalar(n, key, wantSize)
	if !ok {
		return 0, false
	}
	b, err := ParseSize(n.Value)
	switch {
	case errors.Is(err, errSizeUnits):
		s.fail(n, key, "%q has no unit (e.g. %sMB)", n.Value, n.Value)
	case err != nil:
		s.fail(n, key, "%s", wantSize.notA(n.Value))
	case b < 1000:
		s.fail(n, key, "%q is too small: at least 1KB", n.Value)
	default:
		return b, true
	}
	return 0, false
}

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// ParseSize reads a size such as 100MB or 512KiB into bytes.
func ParseSize(v string) (int64, error) {
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(v, u.name)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/u.mult {
			return 0, fmt.Errorf("size %q: want a whole number and a unit (e.g. 100MB)", v)
		}
		return n * u.mult, nil
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return 0, errSizeUnits
	}
	return 0, fmt.Errorf("size %q: want a whole number and a unit (e.g. 100MB)", v)
}
