package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/timestamp"
)

// Limits that keep a typo from asking for absurd memory.
const (
	maxMaxRetry = 1_000_000
	maxMaxHosts = 100_000_000
	maxFactor   = 1000
)

var (
	protocols = []string{"tcp", "udp", "all"}

	wantMaxRetry   = want{"a whole number", "5"}
	wantMaxHosts   = want{"a whole number", "1000000"}
	wantIPv6Prefix = want{"a prefix length", "64"}
	wantFactor     = want{"a number", "2"}
	wantDatePat    = want{"a date pattern", "iso8601"}
	egIncrement    = "{factor: 2, maxtime: 1w}"
	egSource       = "{files: [/var/log/ipfs/*.log]} or {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}}"
)

// settings are the keys a jail shares with the defaults section.
type settings struct {
	enabled     bool
	findTime    time.Duration
	maxRetry    int
	banTime     time.Duration
	inc         jail.Increment
	incNode     *yaml.Node // the node that set inc.MaxTime, for the bantime check
	incFile     fileRef    // the file incNode is in: the main file's defaults are inherited by included jails
	ignoreIP    []netip.Prefix
	ignoreSelf  bool
	ipv6Prefix  int
	maxHosts    int
	ports       []PortRange
	protocol    string
	actions     []ActionSpec
	datePattern string
	clockSkew   time.Duration
	esc         *escalationSetting // ipv6_escalation; nil: none
	key         jail.KeyKind
}

// builtinSettings are the values used when neither a jail nor the defaults
// section sets a key.
func builtinSettings() settings {
	return settings{
		enabled:    true,
		findTime:   10 * time.Minute,
		maxRetry:   5,
		banTime:    time.Hour,
		ignoreIP:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		ignoreSelf: true,
		ipv6Prefix: 64,
		maxHosts:   1_000_000,
		protocol:   "all",
		actions:    []ActionSpec{{Type: ActionNFTables}},
		clockSkew:  DefaultMaxClockSkew,
	}
}

// DefaultMaxClockSkew is how far ahead of the daemon's clock a line's stamp
// may be before it is distrusted: clocks of one host agree to well within
// it, and a stamp further ahead would keep its hit in the window, and its
// ban alive, past what the policy says.
const DefaultMaxClockSkew = time.Minute

// handlers parse the shared keys into st. Each key replaces the inherited
// value as a whole: a jail's ignoreip replaces the default list.
func (s scope) settingHandlers(st *settings) []handler {
	return []handler{
		{"enabled", func(k string, v *yaml.Node) { setIf(&st.enabled)(s.boolean(v, k)) }},
		{"findtime", func(k string, v *yaml.Node) { setIf(&st.findTime)(s.duration(v, k)) }},
		{"maxretry", func(k string, v *yaml.Node) { setIf(&st.maxRetry)(s.integer(v, k, wantMaxRetry, 1, maxMaxRetry)) }},
		{"bantime", func(k string, v *yaml.Node) { setIf(&st.banTime)(s.duration(v, k)) }},
		{"bantime_increment", func(k string, v *yaml.Node) { s.increment(v, k, st) }},
		{"ignoreip", func(k string, v *yaml.Node) { setIf(&st.ignoreIP)(s.prefixes(v, k)) }},
		{"ignoreself", func(k string, v *yaml.Node) { setIf(&st.ignoreSelf)(s.boolean(v, k)) }},
		{"ipv6_prefix", func(k string, v *yaml.Node) { setIf(&st.ipv6Prefix)(s.integer(v, k, wantIPv6Prefix, 1, 128)) }},
		{"maxhosts", func(k string, v *yaml.Node) { setIf(&st.maxHosts)(s.integer(v, k, wantMaxHosts, 1, maxMaxHosts)) }},
		{"ports", func(k string, v *yaml.Node) { setIf(&st.ports)(s.ports(v, k)) }},
		{"protocol", func(k string, v *yaml.Node) { setIf(&st.protocol)(s.oneOf(v, k, "a protocol", protocols)) }},
		{"action", func(k string, v *yaml.Node) { setIf(&st.actions)(s.actionShorthand(v, k)) }},
		{"actions", func(k string, v *yaml.Node) { setIf(&st.actions)(s.actionList(v, k)) }},
		{"datepattern", func(k string, v *yaml.Node) { setIf(&st.datePattern)(s.datePattern(v, k)) }},
		{"max_clock_skew", func(k string, v *yaml.Node) { setIf(&st.clockSkew)(s.duration(v, k)) }},
		{"ipv6_escalation", func(k string, v *yaml.Node) { s.escalation(v, k, st) }},
		{"key", func(k string, v *yaml.Node) { setIf(&st.key)(s.keyKind(v, k)) }},
	}
}

// setIf returns a setter that stores a parsed value only when it is valid,
// so a bad key leaves the inherited value in place.
func setIf[T any](dst *T) func(T, bool) {
	return func(v T, ok bool) {
		if ok {
			*dst = v
		}
	}
}

func (s scope) increment(n *yaml.Node, key string, st *settings) {
	inc := jail.Increment{Factor: 2, MaxTime: week}
	at := resolve(n)
	s.mapping(n, key, egIncrement, []handler{
		{"factor", func(k string, v *yaml.Node) { setIf(&inc.Factor)(s.factor(v, k)) }},
		{"maxtime", func(k string, v *yaml.Node) {
			setIf(&inc.MaxTime)(s.duration(v, k))
			at = resolve(v)
		}},
	})
	st.inc, st.incNode, st.incFile = inc, at, s.errs.current()
}

func (s scope) factor(n *yaml.Node, key string) (float64, bool) {
	n, ok := s.scalar(n, key, wantFactor)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		s.fail(n, key, "%s", wantFactor.notA(n.Value))
		return 0, false
	}
	if !(f >= 1 && f <= maxFactor) {
		s.fail(n, key, "%s is out of range 1..%d (1 means no growth; e.g. 2)", n.Value, maxFactor)
		return 0, false
	}
	return f, true
}

func (s scope) prefixes(n *yaml.Node, key string) ([]netip.Prefix, bool) {
	items, ok := s.list(n, key, wantIP)
	out := make([]netip.Prefix, 0, len(items))
	for _, it := range items {
		p, good := s.prefix(it.n, it.key)
		ok = ok && good
		out = append(out, p)
	}
	return out, ok
}

func (s scope) ports(n *yaml.Node, key string) ([]PortRange, bool) {
	items, ok := s.list(n, key, wantPort)
	out := make([]PortRange, 0, len(items))
	for _, it := range items {
		r, good := s.portRange(it.n, it.key)
		ok = ok && good
		out = append(out, r)
	}
	return out, ok
}

func (s scope) datePattern(n *yaml.Node, key string) (string, bool) {
	n, ok := s.scalar(n, key, wantDatePat)
	if !ok {
		return "", false
	}
	if err := timestamp.ValidatePattern(n.Value); err != nil {
		s.fail(n, key, "%v", err) // it names the pattern and shows a right one
		return "", false
	}
	return n.Value, true
}

// jailRef is a jail's filter: key, resolved once all filters are known.
type jailRef struct {
	name string
	n    *yaml.Node
}

// parseJail reads one jail on top of the defaults and reports whether it is
// enabled.
func (p *parser) parseJail(name string, n *yaml.Node, base settings) (Jail, bool) {
	s := scope{p.errs, fmt.Sprintf("jail %q", name)}
	st := base
	var ref jailRef
	var src source
	var fleet *FleetPolicy
	var rk recidiveKeys
	hs := append([]handler{
		{"filter", func(k string, v *yaml.Node) {
			if name, ok := s.str(v, k, want{"a filter name", "libp2p-peer-status"}); ok {
				ref = jailRef{name, resolve(v)}
			}
		}},
		{"source", func(k string, v *yaml.Node) { src = s.source(v, k, p.dir) }},
	}, s.settingHandlers(&st)...)
	hs = append(hs, handler{"fleet", func(k string, v *yaml.Node) { fleet = s.fleetPolicy(v, k) }})
	hs = append(hs, s.recidiveHandlers(&rk)...)
	seen, ok := s.mapping(n, "", "{filter: libp2p-peer-status, source: "+egSource+"}", hs)
	// A recidive jail has neither filter nor source; any other type: is
	// reported already.
	ok = ok && seen["type"] == nil
	if ok && seen["filter"] == nil {
		s.fail(n, "filter", "missing (e.g. filter: libp2p-peer-status)")
	}
	if ok && seen["source"] == nil && !p.opts.SourcesOptional {
		s.fail(n, "source", "missing (e.g. source: %s)", egSource)
	}
	s.oneActionKey(seen)
	if st.inc.Factor > 1 && st.inc.MaxTime < st.banTime {
		p.errs.addIn(st.incFile, st.incNode, s.name, "bantime_increment.maxtime", fmt.Sprintf("%s is shorter than bantime %s (e.g. %s)",
			formatDuration(st.inc.MaxTime), formatDuration(st.banTime), egIncrement))
	}
	j := Jail{
		Name:    name,
		Policy:  st.policy(name),
		Files:   src.files,
		Journal: src.journal,
	}
	j.IgnoreSelf, j.Ports, j.Protocol, j.Actions, j.DatePattern = st.ignoreSelf, st.ports, st.protocol, st.actions, st.datePattern
	j.MaxClockSkew = st.clockSkew
	j.Fleet = fleet.withBanTime(st.banTime)
	if ref.n != nil && rk.typ != TypeRecidive {
		j.FilterName = ref.name
		j.Filter = p.lookupFilter(s, ref)
	}
	p.applyEscalation(s, &st, &j)
	p.finishRecidive(s, &j, seen, &rk)
	return j, st.enabled
}

// oneActionKey reports a mapping that has both action: and actions:.
func (s scope) oneActionKey(seen map[string]*yaml.Node) {
	if seen["action"] != nil && seen["actions"] != nil {
		s.fail(seen["action"], "action", "both action: and actions: are set; action: %s is short for actions: [{type: %[1]s}], keep one",
			resolve(seen["action"]).Value)
	}
}

func (st *settings) policy(name string) jail.Policy {
	return jail.Policy{
		Name:       name,
		FindTime:   st.findTime,
		MaxRetry:   st.maxRetry,
		BanTime:    st.banTime,
		Increment:  st.inc,
		IgnoreIP:   st.ignoreIP,
		IPv6Prefix: st.ipv6Prefix,
		MaxHosts:   st.maxHosts,
		Key:        st.key,
	}
}

// lookupFilter finds a jail's filter among the defined and the stock ones;
// a defined filter of the same name replaces the stock one.
func (p *parser) lookupFilter(s scope, ref jailRef) filter.Spec {
	if spec, ok := p.cfg.Filters[ref.name]; ok {
		return spec
	}
	if p.defined[ref.name] {
		return filter.Spec{} // broken, and already reported
	}
	if spec, ok := p.stock[ref.name]; ok {
		spec.Name = ref.name
		return spec
	}
	if p.errs.full() {
		s.fail(ref.n, "filter", "unknown filter %q", ref.name)
		return filter.Spec{}
	}
	stock, defined := sortedKeys(p.stock), sortedKeys(p.defined)
	msg := fmt.Sprintf("unknown filter %q (%sstock: %s", ref.name, didYouMean(ref.name, append(stock, defined...)), quoteList(stock))
	if len(defined) > 0 {
		msg += "; defined: " + quoteList(defined[:min(len(defined), 20)])
		if len(defined) > 20 {
			msg += ", ..."
		}
	}
	s.fail(ref.n, "filter", "%s)", msg)
	return filter.Spec{}
}

// source is a jail's source: key: files or journal matches.
type source struct{ files, journal []string }

func (s scope) source(n *yaml.Node, key, dir string) source {
	var src source
	seen, ok := s.mapping(n, key, egSource, []handler{
		{"files", func(k string, v *yaml.Node) {
			for _, it := range s.items(v, k, wantGlob) {
				if g, ok := s.glob(it.n, it.key, dir); ok {
					src.files = append(src.files, g)
				}
			}
		}},
		{"journal", func(k string, v *yaml.Node) { src.journal = s.journal(v, k) }},
	})
	switch {
	case !ok:
	case seen["files"] == nil && seen["journal"] == nil:
		s.fail(resolve(n), key, "missing files or journal (e.g. %s)", egSource)
	case seen["files"] != nil && seen["journal"] != nil:
		s.fail(seen["journal"], key+".journal", "a source is files or journal, not both")
	}
	return src
}

func (s scope) journal(n *yaml.Node, key string) []string {
	var matches []string
	seen, ok := s.mapping(n, key, "{match: [_SYSTEMD_UNIT=ipfs.service]}", []handler{
		{"match", func(k string, v *yaml.Node) {
			for _, it := range s.items(v, k, wantJournal) {
				if m, ok := s.journalMatch(it.n, it.key); ok {
					matches = append(matches, m)
				}
			}
		}},
	})
	if ok && seen["match"] == nil {
		s.fail(resolve(n), key, "missing match (e.g. match: [%s])", wantJournal.eg)
	}
	return matches
}
