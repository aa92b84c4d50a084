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
	// Jails are the enabled jails in file order: the main file's, then
	// each included file's in the order Includes lists them.
	Jails []Jail
	// Includes are the files the main file's include: globs matched, in
	// the order they were read.
	Includes []Include
	// Fleet is the fleet: section; nil when the host shares nothing.
	Fleet *Fleet
	// Audit is the audit section as written; AuditSettings applies defaults.
	Audit *Audit
	// Heartbeat is the dead-man switch (heartbeat:); nil when not set.
	Heartbeat *Heartbeat
}

// Include is one file read through include:, and what it defines.
type Include struct {
	// Path is the match of the glob, a relative glob joined to the
	// directory of the main file as given to Load.
	Path string
	// Jails are the names of all the jails it defines, enabled or not, and
	// Filters the filters, in file order.
	Jails, Filters []string
}

// Jail is one jail ready to run: its filter, its source and its policy.
type Jail struct {
	Name       string
	FilterName string
	Filter     filter.Spec
	Policy     jail.Policy
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
	// Actions enforce the jail's decisions, in config order; never empty
	// (nftables when the config names none). No two have the same Key.
	Actions []ActionSpec
	// DatePattern is how to find the time in a line's text; empty means
	// the source's own time or automatic detection.
	DatePattern string
	// MaxClockSkew is how far a live line's stamp may lie ahead of the
	// daemon's clock before the line is counted at the time it was read
	// instead; replay flags a line so far ahead of its file's modification
	// time.
	MaxClockSkew time.Duration
	// Fleet is the jail's fleet: policy; nil when the fleet's reports do
	// not ban here.
	Fleet *FleetPolicy
	// Recidive is set for a jail of type recidive: it has no filter and no
	// source, and counts the bans of other jails.
	Recidive *Recidive
}

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
	return parse(path, dir, data, o, osFS{})
}

// Parse validates a config held in memory; name is the file name used in
// messages, and relative file globs are taken relative to its directory.
// The files its include: names are read from disk.
func Parse(name string, data []byte, o LoadOptions) (*Config, error) {
	return parse(name, filepath.Dir(name), data, o, osFS{})
}

func parse(name, dir string, data []byte, o LoadOptions, fsys includeFS) (*Config, error) {
	root, nodes, err := decodeCounted(name, data)
	if err != nil {
		return nil, err
	}
	stock, err := StockFilters()
	if err != nil {
		return nil, fmt.Errorf("load stock filters: %w", err)
	}
	p := &parser{
		errs:     &errlist{file: name},
		opts:     o,
		dir:      dir,
		mainDir:  dir,
		stock:    stock,
		defined:  map[string]bool{},
		filterAt: map[string]string{},
		jailAt:   map[string]string{},
		fs:       fsys,
		used:     usage{len(data), nodes},
		cfg:      &Config{Path: name, Filters: map[string]filter.Spec{}},
	}
	p.document(root)
	if p.ioErr != nil {
		return nil, p.ioErr
	}
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
	dir     string // of the file being walked, for relative source globs
	mainDir string
	stock   map[string]filter.Spec
	defined map[string]bool // every name under filters:, valid or not
	// filterAt and jailAt say where each name was defined first, as
	// FILE:LINE:COL, for names defined again in another file.
	filterAt, jailAt map[string]string
	fs               includeFS
	used             usage // by the files read so far
	ioErr            error // an included file that could not be read
	cfg              *Config
	recidive         []recidiveRef // recidive jails' lists, checked at the end
}

const egJails = "jails: {libp2p: {filter: libp2p-peer-status, source: {files: [/var/log/ipfs/*.log]}}}"

// document walks the top level. Filters come first, from every file, so
// that jails can name them wherever they are.
func (p *parser) document(root *yaml.Node) {
	top := scope{p.errs, ""}
	if root == nil {
		p.errs.add(nil, "", "", "empty config (e.g. "+egJails+")")
		return
	}
	var filters, defaults, include, jails, fleet *yaml.Node
	seen, ok := top.mapping(root, "", egJails, []handler{
		{"audit", func(_ string, v *yaml.Node) { p.audit(v) }},
		{"defaults", func(_ string, v *yaml.Node) { defaults = v }},
		{"filters", func(_ string, v *yaml.Node) { filters = v }},
		{"include", func(_ string, v *yaml.Node) { include = v }},
		{"jails", func(_ string, v *yaml.Node) { jails = v }},
		{"fleet", func(_ string, v *yaml.Node) { fleet = v }},
		{"heartbeat", func(_ string, v *yaml.Node) { p.heartbeat(v) }},
	})
	if seen == nil {
		return // not a mapping
	}
	// An empty section (every entry commented out) is no mistake.
	filters, defaults, include = dropNull(filters), dropNull(defaults), dropNull(include)
	main := &part{ref: p.errs.current(), dir: p.dir, filters: filters, jails: jails}
	parts := []*part{main}
	if include != nil {
		parts = append(parts, p.includes(include)...)
		if p.ioErr != nil {
			return
		}
	}
	for _, pt := range parts {
		if pt.filters != nil {
			p.enter(pt)
			p.filters(pt)
		}
	}
	p.enter(main)
	base := builtinSettings()
	if defaults != nil {
		d := scope{p.errs, "defaults"}
		perJail := func(k string, v *yaml.Node) {
			d.fail(v, k, "set %s in each jail, not under defaults", k)
		}
		seen, _ := d.mapping(defaults, "", "{findtime: 10m, maxretry: 5, bantime: 1h}", d.settingHandlers(&base),
			handler{"filter", perJail}, handler{"source", perJail})
		d.oneActionKey(seen)
	}
	if jails == nil && include == nil {
		if ok { // else "jails" is most likely the misspelt key
			top.fail(root, "jails", "missing (e.g. %s)", egJails)
		}
		return
	}
	defined := 0
	for _, pt := range parts {
		p.enter(pt)
		// Without include: the main file must define a jail itself.
		defined += p.jails(pt, base, include == nil)
	}
	p.enter(main)
	p.checkRecidive()
	if include != nil && defined == 0 && ok {
		top.fail(resolve(include), "include", "no jails defined, here or in the included files (%d read; e.g. %s)",
			len(parts)-1, egJails)
	}
	for _, pt := range parts[1:] {
		p.cfg.Includes = append(p.cfg.Includes, *pt.inc)
	}
	if fleet = dropNull(fleet); fleet != nil {
		p.cfg.Fleet = p.fleet(fleet)
	}
	p.checkFleetPolicies()
}

// dropNull returns nil for an absent value (`key:` with nothing after it).
func dropNull(n *yaml.Node) *yaml.Node {
	if n != nil && isNull(resolve(n)) {
		return nil
	}
	return n
}

// enter makes pt the file being walked.
func (p *parser) enter(pt *part) {
	p.errs.at(pt.ref)
	p.dir = pt.dir
}

func (p *parser) filters(pt *part) {
	top := scope{p.errs, ""}
	ps, _ := top.pairs(pt.filters, "filters", want{"a mapping of name → filter", "{my-filter: " + egFilterBody + "}"})
	for _, f := range ps {
		name := f.k.Value
		if at, dup := p.filterAt[name]; dup {
			top.fail(f.k, "", "filter %q is already defined at %s", name, at)
			continue
		}
		p.defined[name] = true
		p.filterAt[name] = pt.place(f.k)
		if !filterName.MatchString(name) {
			top.fail(f.k, "filters", "%q is not a valid filter name (%s)", name, wantFiltrName)
			continue
		}
		if pt.inc != nil {
			pt.inc.Filters = append(pt.inc.Filters, name)
		}
		if spec, ok := parseFilter(p.errs, name, f.v); ok {
			p.cfg.Filters[name] = spec
		}
	}
}

// jails reads the jails of pt and returns how many it defines. required
// says that defining none is a mistake.
func (p *parser) jails(pt *part, base settings, required bool) int {
	top := scope{p.errs, ""}
	n := pt.jails
	if n == nil {
		return 0
	}
	if n = resolve(n); isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		if required {
			top.fail(n, "jails", "no jails defined (e.g. %s)", egJails)
		}
		return 0
	}
	ps, _ := top.pairs(n, "jails", want{"a mapping of name → jail", egJails})
	for _, j := range ps {
		name := j.k.Value
		if !jailName.MatchString(name) {
			top.fail(j.k, "jails", "%q is not a valid jail name (%s)", name, wantJailName)
			continue
		}
		if at, dup := p.jailAt[name]; dup {
			top.fail(j.k, "", "jail %q is already defined at %s", name, at)
			continue
		}
		p.jailAt[name] = pt.place(j.k)
		if pt.inc != nil {
			pt.inc.Jails = append(pt.inc.Jails, name)
		}
		if jl, enabled := p.parseJail(name, j.v, base); enabled {
			p.cfg.Jails = append(p.cfg.Jails, jl)
		}
	}
	return len(ps)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
