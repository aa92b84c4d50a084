package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
)

// Config is a loaded, validated configuration.
type Config struct {
	// Path is the file it came from, as given to Load or Parse.
	Path string
	// Filters are the operator-defined filters by name; stock filters are
	// not repeated here.
	Filters map[string]filter.Spec
	// Jails are the enabled jails in file order.
	Jails []Jail
}

// Jail is one jail ready to run: its filter, its source and its policy.
type Jail struct {
	Name       string
	FilterName string
	Filter     filter.Spec
	Policy     jail.Config
	// IgnoreSelf asks the daemon to add the host's own addresses to
	// Policy.IgnoreIP.
	IgnoreSelf bool
	// Files are globs, relative ones joined to the config file's directory
	// (absolute after Load); Journal are "FIELD=value" matches, ORed.
	// Both are empty only when LoadOptions.SourcesOptional allowed it.
	Files   []string
	Journal []string
	// Ports are the destination ports a ban covers; empty means all.
	Ports []PortRange
	// Protocol is "tcp", "udp" or "all".
	Protocol string
	// Action is how the jail's bans are enforced.
	Action Action
	// DatePattern is how to find the time in a line's text; empty means
	// the source's own time or automatic detection.
	DatePattern string
	// MaxClockSkew is how far a live line's stamp may lie ahead of the
	// daemon's clock before the line is counted at the time it was read
	// instead; replay flags a line so far ahead of its file's modification
	// time.
	MaxClockSkew time.Duration
}

// Action is how a jail's bans are enforced: the `action:` key.
type Action string

const (
	// ActionNFTables bans in the kernel, in peerjail's nftables table.
	ActionNFTables Action = "nftables"
	// ActionDryRun only logs the bans the jail decides; they are counted,
	// stored and listed like any other, but nothing drops a packet.
	ActionDryRun Action = "dry-run"
)

// LoadOptions adjusts validation to the command that loads the config.
type LoadOptions struct {
	// SourcesOptional accepts jails without source:, for `peerjail replay`,
	// which reads the logs named on its command line.
	SourcesOptional bool
}

// Load reads and validates the config file at path. A problem with the
// config's content wraps ErrInvalid and lists every problem found, one per
// line; a problem reading the file does not.
func Load(path string, o LoadOptions) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, dir, data, o)
}

// Parse validates a config held in memory; name is the file name used in
// messages, and relative file globs are taken relative to its directory.
func Parse(name string, data []byte, o LoadOptions) (*Config, error) {
	return parse(name, filepath.Dir(name), data, o)
}

func parse(name, dir string, data []byte, o LoadOptions) (*Config, error) {
	root, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	stock, err := StockFilters()
	if err != nil {
		return nil, fmt.Errorf("load stock filters: %w", err)
	}
	p := &parser{
		errs:    &errlist{file: name},
		opts:    o,
		dir:     dir,
		stock:   stock,
		defined: map[string]bool{},
		cfg:     &Config{Path: name, Filters: map[string]filter.Spec{}},
	}
	p.document(root)
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// readLimited reads at most one byte over maxFileSize, which decode rejects.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return data, nil
}

// parser holds the state of one Parse.
type parser struct {
	errs    *errlist
	opts    LoadOptions
	dir     string
	stock   map[string]filter.Spec
	defined map[string]bool // every name under filters:, valid or not
	cfg     *Config
}

const egJails = "jails: {libp2p: {filter: libp2p-peer-status, source: {files: [/var/log/ipfs/*.log]}}}"

// document walks the top level. Filters come first so that jails can name
// them wherever they are in the file.
func (p *parser) document(root *yaml.Node) {
	top := scope{p.errs, ""}
	if root == nil {
		p.errs.add(nil, "", "", "empty config (e.g. "+egJails+")")
		return
	}
	var filters, defaults, jails *yaml.Node
	seen, ok := top.mapping(root, "", egJails, []handler{
		{"defaults", func(_ string, v *yaml.Node) { defaults = v }},
		{"filters", func(_ string, v *yaml.Node) { filters = v }},
		{"jails", func(_ string, v *yaml.Node) { jails = v }},
	})
	if seen == nil {
		return // not a mapping
	}
	// An empty section (every entry commented out) is no mistake.
	if filters != nil && isNull(resolve(filters)) {
		filters = nil
	}
	if defaults != nil && isNull(resolve(defaults)) {
		defaults = nil
	}
	if filters != nil {
		p.filters(filters)
	}
	base := builtinSettings()
	if defaults != nil {
		d := scope{p.errs, "defaults"}
		perJail := func(k string, v *yaml.Node) {
			d.fail(v, k, "set %s in each jail, not under defaults", k)
		}
		d.mapping(defaults, "", "{findtime: 10m, maxretry: 5, bantime: 1h}", d.settingHandlers(&base),
			handler{"filter", perJail}, handler{"source", perJail})
	}
	if jails == nil {
		if ok { // else "jails" is most likely the misspelt key
			top.fail(root, "jails", "missing (e.g. %s)", egJails)
		}
		return
	}
	p.jails(jails, base)
}

func (p *parser) filters(n *yaml.Node) {
	top := scope{p.errs, ""}
	ps, _ := top.pairs(n, "filters", want{"a mapping of name → filter", "{my-filter: " + egFilterBody + "}"})
	for _, f := range ps {
		name := f.k.Value
		p.defined[name] = true
		if !filterName.MatchString(name) {
			top.fail(f.k, "filters", "%q is not a valid filter name (%s)", name, wantFiltrName)
			continue
		}
		if spec, ok := parseFilter(p.errs, name, f.v); ok {
			p.cfg.Filters[name] = spec
		}
	}
}

func (p *parser) jails(n *yaml.Node, base settings) {
	top := scope{p.errs, ""}
	if n = resolve(n); isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		top.fail(n, "jails", "no jails defined (e.g. %s)", egJails)
		return
	}
	ps, _ := top.pairs(n, "jails", want{"a mapping of name → jail", egJails})
	for _, j := range ps {
		name := j.k.Value
		if !jailName.MatchString(name) {
			top.fail(j.k, "jails", "%q is not a valid jail name (%s)", name, wantJailName)
			continue
		}
		if jl, enabled := p.parseJail(name, j.v, base); enabled {
			p.cfg.Jails = append(p.cfg.Jails, jl)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
