package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/jail"
)

// TypeRecidive is the `type:` of a jail that counts the bans of other jails
// instead of log lines, like fail2ban's recidive jail.
const TypeRecidive = "recidive"

// Recidive is what a recidive jail counts.
type Recidive struct {
	// Jails are the jails whose bans it counts, as listed; empty means
	// every jail that is not itself a recidive jail.
	Jails []string
}

// Counts reports whether a recidive jail counts the bans of the jail named
// name, itself not a recidive jail.
func (r *Recidive) Counts(self, name string) bool {
	if name == self {
		return false
	}
	return len(r.Jails) == 0 || slices.Contains(r.Jails, name)
}

// A recidive jail's own defaults: it catches hosts that keep coming back
// over days, not those that fail a few times in minutes, so the defaults
// section's values (meant for log jails) do not apply to it.
const (
	recidiveFindTime = 24 * time.Hour
	recidiveMaxRetry = 5
	recidiveBanTime  = week
)

var (
	wantJailType = want{"a jail type", TypeRecidive}
	wantJailList = want{"a jail name", "sshd"}
	egEscalation = "{start: 128, steps: [64, 48], after: 3, within: 1h}"
	wantStep     = want{"a prefix length", "64"}
	wantAfter    = want{"a whole number", "3"}
	// Keys a recidive jail must not have, and why.
	recidiveBanned = []struct{ key, why string }{
		{"filter", notLines}, {"source", notLines}, {"datepattern", notLines}, {"max_clock_skew", notLines},
		{"ports", allPorts}, {"protocol", allPorts},
	}
)

const (
	notLines = "a recidive jail counts the bans of other jails, not log lines"
	allPorts = "a recidive jail bans on all ports"
)

// recidiveKeys are the keys of a jail that only a recidive jail has, as
// parseJail reads them.
type recidiveKeys struct {
	typ   string
	jails []item // the `jails:` entries, checked once every jail is known
	file  fileRef
}

func (s scope) recidiveHandlers(rk *recidiveKeys) []handler {
	return []handler{
		{"type", func(k string, v *yaml.Node) { setIf(&rk.typ)(s.oneOf(v, k, wantJailType.what, []string{TypeRecidive})) }},
		{"jails", func(k string, v *yaml.Node) {
			rk.jails = s.items(v, k, wantJailList)
			rk.file = s.errs.current()
			for _, it := range rk.jails {
				s.scalar(it.n, it.key, wantJailList)
			}
		}},
	}
}

// finishRecidive checks a jail's recidive keys against its other keys and
// makes it a recidive jail if it is one. seen are the keys the jail itself
// set.
func (p *parser) finishRecidive(s scope, j *Jail, seen map[string]*yaml.Node, rk *recidiveKeys) {
	if rk.typ != TypeRecidive {
		if v := seen["jails"]; v != nil && seen["type"] == nil {
			s.fail(v, "jails", "only a recidive jail lists jails (add type: recidive)")
		}
		return
	}
	for _, b := range recidiveBanned {
		if v := seen[b.key]; v != nil {
			s.fail(v, b.key, "%s: remove %s", b.why, b.key)
		}
	}
	j.Recidive = &Recidive{}
	for _, it := range rk.jails {
		j.Recidive.Jails = append(j.Recidive.Jails, it.n.Value)
	}
	p.recidive = append(p.recidive, recidiveRef{jail: j.Name, items: rk.jails, file: rk.file})
	j.Files, j.Journal, j.Ports, j.Protocol, j.DatePattern = nil, nil, nil, "all", ""
	j.Policy.Escalation = jail.Escalation{}
	if seen["findtime"] == nil {
		j.Policy.FindTime = recidiveFindTime
	}
	if seen["maxretry"] == nil {
		j.Policy.MaxRetry = recidiveMaxRetry
	}
	if seen["bantime"] == nil {
		j.Policy.BanTime = recidiveBanTime
	}
}

// recidiveRef is a recidive jail's `jails:` list, checked once every jail of
// every file is known.
type recidiveRef struct {
	jail  string
	items []item
	file  fileRef
}

// checkRecidive checks that every jail a recidive jail lists exists and reads
// logs: a recidive jail counting another's bans could feed back on itself.
func (p *parser) checkRecidive() {
	if len(p.recidive) == 0 {
		return
	}
	isRecidive := map[string]bool{}
	for _, r := range p.recidive {
		isRecidive[r.jail] = true
	}
	names := sortedKeys(p.jailAt)
	for _, r := range p.recidive {
		scope := fmt.Sprintf("jail %q", r.jail)
		for _, it := range r.items {
			name := it.n.Value
			var msg string
			switch {
			case name == r.jail:
				msg = "a recidive jail never counts its own bans"
			case isRecidive[name]:
				msg = fmt.Sprintf("%q is a recidive jail; list the jails that read logs", name)
			case p.jailAt[name] == "":
				msg = fmt.Sprintf("unknown jail %q (%sdefined: %s)", name, didYouMean(name, names), quoteList(names[:min(len(names), 20)]))
			default:
				continue
			}
			p.errs.addIn(r.file, it.n, scope, it.key, msg)
		}
	}
}

// escalationSetting is an ipv6_escalation value as read, before its start
// is known: start defaults to the jail's ipv6_prefix.
type escalationSetting struct {
	steps     []int
	stepsNode *yaml.Node
	start     int // 0: the jail's ipv6_prefix
	after     int
	within    time.Duration
	file      fileRef
}

func (s scope) escalation(n *yaml.Node, key string, st *settings) {
	e := escalationSetting{after: 3, within: time.Hour, file: s.errs.current()}
	seen, ok := s.mapping(n, key, egEscalation, []handler{
		{"start", func(k string, v *yaml.Node) { setIf(&e.start)(s.integer(v, k, wantIPv6Prefix, 1, 128)) }},
		{"steps", func(k string, v *yaml.Node) { e.steps, e.stepsNode = s.steps(v, k), resolve(v) }},
		{"after", func(k string, v *yaml.Node) { setIf(&e.after)(s.integer(v, k, wantAfter, 2, jail.MaxEscalationAfter)) }},
		{"within", func(k string, v *yaml.Node) { setIf(&e.within)(s.duration(v, k)) }},
	})
	if ok && seen["steps"] == nil {
		s.fail(resolve(n), key+".steps", "missing (e.g. %s)", egEscalation)
	}
	if len(e.steps) == 0 {
		return
	}
	st.esc = &e
}

// steps reads a strictly decreasing list of prefix lengths.
func (s scope) steps(n *yaml.Node, key string) []int {
	var out []int
	for _, it := range s.items(n, key, wantStep) {
		v, ok := s.integer(it.n, it.key, wantStep, 1, 127)
		if !ok {
			return nil
		}
		if len(out) > 0 && v >= out[len(out)-1] {
			s.fail(it.n, it.key, "/%d is not shorter than /%d before it: steps go from narrower to wider (e.g. [64, 48])", v, out[len(out)-1])
			return nil
		}
		out = append(out, v)
	}
	return out
}

// applyEscalation puts st's escalation into j's policy: its start becomes
// the length IPv6 hosts are counted and banned at.
func (p *parser) applyEscalation(s scope, st *settings, j *Jail) {
	e := st.esc
	if e == nil {
		return
	}
	start := e.start
	if start == 0 {
		start = j.Policy.IPv6Prefix
	}
	if e.steps[0] >= start {
		p.errs.addIn(e.file, e.stepsNode, s.name, "ipv6_escalation.steps",
			fmt.Sprintf("/%d is not shorter than start /%d (e.g. %s)", e.steps[0], start, egEscalation))
		return
	}
	j.Policy.IPv6Prefix = start
	j.Policy.Escalation = jail.Escalation{Steps: slices.Clone(e.steps), After: e.after, Within: e.within}
}

// summary is what a recidive jail counts, for Summary.
func (r *Recidive) summary() string {
	if len(r.Jails) == 0 {
		return "recidive of every other jail"
	}
	return "recidive of " + quoteList(r.Jails)
}

// escalationSummary is " → /64 → /48 after 3 bans in 1h", or "".
func escalationSummary(e jail.Escalation) string {
	if len(e.Steps) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range e.Steps {
		fmt.Fprintf(&b, " → /%d", s)
	}
	fmt.Fprintf(&b, " after %d bans in %s", e.After, formatDuration(e.Within))
	return b.String()
}
