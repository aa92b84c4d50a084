package config

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/filter"
)

// WriteYAML writes the configuration as it was loaded, for `peerjail
// config`: every enabled jail with every setting spelt out (the defaults
// applied, relative globs made absolute, the included files' jails in
// place), in the syntax of the file, so that the output loads to the same
// configuration. A jail's stock filter is named with its description in a
// comment; the operator's filters are written out.
func (c *Config) WriteYAML(w io.Writer) error {
	doc := mapping()
	doc.HeadComment = "peerjail configuration as loaded from " + c.Path + ", defaults applied"
	for _, inc := range c.Includes {
		doc.HeadComment += "\nincluded " + inc.Path
	}
	if hb := c.Heartbeat; hb != nil {
		add(doc, "heartbeat", pairs(
			"url", scalar(hb.URL), "interval", duration(hb.Interval), "timeout", duration(hb.Timeout),
			"method", scalar(hb.Method)))
		if hb.Quiet > 0 {
			add(value(doc, "heartbeat"), "quiet", duration(hb.Quiet))
		}
	}
	if a := c.Audit; a != nil {
		as := c.AuditSettings()
		add(doc, "audit", flow(pairs("enabled", boolean(as.Enabled), "max_size", integer(int(min(as.MaxSize, math.MaxInt))), "keep", integer(as.Keep))))
	}
	if f := c.Fleet; f != nil {
		fl := pairs("servers", flowList(f.Servers...))
		if f.Reporter != "" {
			add(fl, "reporter", scalar(f.Reporter))
		}
		if f.Creds != "" {
			add(fl, "creds", scalar(f.Creds))
		}
		if f.NKey != "" {
			add(fl, "nkey", scalar(f.NKey))
		}
		if f.TLS != (FleetTLS{}) {
			t := mapping()
			for _, kv := range [][2]string{{"ca", f.TLS.CA}, {"cert", f.TLS.Cert}, {"key", f.TLS.Key}} {
				if kv[1] != "" {
					add(t, kv[0], scalar(kv[1]))
				}
			}
			add(fl, "tls", flow(t))
		}
		add(fl, "stream", scalar(f.Stream))
		add(fl, "subject", scalar(f.Subject))
		add(fl, "replicas", integer(f.Replicas))
		add(fl, "publish", flowList(f.Publish...))
		add(doc, "fleet", fl)
	}
	if len(c.Filters) > 0 {
		fs := mapping()
		for _, name := range sortedNames(c.Filters) {
			add(fs, name, filterNode(c.Filters[name]))
		}
		add(doc, "filters", fs)
	}
	jails := mapping()
	for i := range c.Jails {
		add(jails, c.Jails[i].Name, c.Jails[i].node(c.Filters))
	}
	add(doc, "jails", jails)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return enc.Close()
}

func (j *Jail) node(defined map[string]filter.Spec) *yaml.Node {
	p := &j.Policy
	n := mapping()
	f := scalar(j.FilterName)
	if _, own := defined[j.FilterName]; !own {
		f.LineComment = "stock"
		if j.Filter.Description != "" {
			f.LineComment += ": " + j.Filter.Description
		}
	}
	if j.Recidive != nil {
		add(n, "type", scalar(TypeRecidive))
		if len(j.Recidive.Jails) > 0 {
			add(n, "jails", flowList(j.Recidive.Jails...))
		}
	} else {
		add(n, "filter", f)
	}
	switch {
	case len(j.Files) > 0:
		add(n, "source", pairs("files", flowList(j.Files...)))
	case len(j.Journal) > 0:
		add(n, "source", pairs("journal", pairs("match", flowList(j.Journal...))))
	}
	add(n, "findtime", duration(p.FindTime))
	add(n, "maxretry", integer(p.MaxRetry))
	add(n, "bantime", duration(p.BanTime))
	if p.Increment.Factor > 0 {
		add(n, "bantime_increment", flow(pairs("factor", number(p.Increment.Factor),
			"maxtime", duration(p.Increment.MaxTime))))
	}
	ips := make([]string, len(p.IgnoreIP))
	for i, ip := range p.IgnoreIP {
		ips[i] = ip.String()
	}
	add(n, "ignoreip", flowList(ips...))
	add(n, "ignoreself", boolean(j.IgnoreSelf))
	if e := p.Escalation; len(e.Steps) > 0 {
		steps := flow(&yaml.Node{Kind: yaml.SequenceNode})
		for _, b := range e.Steps {
			steps.Content = append(steps.Content, integer(b))
		}
		add(n, "ipv6_escalation", flow(pairs("start", integer(p.IPv6Prefix), "steps", steps,
			"after", integer(e.After), "within", duration(e.Within))))
	} else {
		add(n, "ipv6_prefix", integer(p.IPv6Prefix))
	}
	add(n, "maxhosts", integer(p.MaxHosts))
	pl := flowList()
	for _, r := range j.Ports {
		if r.From == r.To {
			pl.Content = append(pl.Content, integer(int(r.From)))
		} else {
			pl.Content = append(pl.Content, scalar(r.String()))
		}
	}
	if len(j.Ports) == 0 {
		pl.LineComment = "every port"
	}
	if j.Recidive == nil {
		add(n, "ports", pl)
		add(n, "protocol", scalar(j.Protocol))
	}
	acts := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range j.Actions {
		acts.Content = append(acts.Content, a.node())
	}
	add(n, "actions", acts)
	if f := j.Fleet; f != nil {
		add(n, "fleet", flow(pairs("quorum", integer(f.Quorum), "window", duration(f.Window),
			"bantime", duration(f.BanTime), "need_local_hit", boolean(f.NeedLocalHit))))
	}
	if j.DatePattern != "" {
		add(n, "datepattern", scalar(j.DatePattern))
	}
	if j.Recidive == nil {
		add(n, "max_clock_skew", duration(j.MaxClockSkew))
	}
	return n
}

// node writes an action with the options its type reads, defaults
// applied.
func (a ActionSpec) node() *yaml.Node {
	n := pairs("type", scalar(string(a.Type)))
	switch a.Type {
	case ActionFlowAdmin:
		add(n, "url", scalar(a.URL))
		if a.AllowRemote {
			add(n, "allow_remote", boolean(true))
		}
		add(n, "timeout", duration(a.Timeout))
		add(n, "retries", integer(a.Retries))
		add(n, "queue", integer(a.Queue))
	case ActionWebhook:
		add(n, "url", scalar(a.URL))
		add(n, "timeout", duration(a.Timeout))
		add(n, "retries", integer(a.Retries))
		add(n, "queue", integer(a.Queue))
		if a.Template != "" {
			add(n, "template", scalar(a.Template))
		}
		if len(a.Headers) > 0 {
			h := mapping()
			for _, k := range slices.Sorted(maps.Keys(a.Headers)) {
				add(h, k, scalar(a.Headers[k]))
			}
			add(n, "headers", h)
		}
	case ActionExec:
		add(n, "ban", flowList(a.Ban...))
		if len(a.Unban) > 0 {
			add(n, "unban", flowList(a.Unban...))
		}
		add(n, "timeout", duration(a.Timeout))
		add(n, "retries", integer(a.Retries))
		add(n, "queue", integer(a.Queue))
		add(n, "concurrency", integer(a.Concurrency))
	default:
		return flow(n)
	}
	return n
}

func filterNode(s filter.Spec) *yaml.Node {
	n := mapping()
	if s.Description != "" {
		add(n, "description", scalar(s.Description))
	}
	if r := s.Regex; r != nil {
		re := pairs("fail", list(r.Fail...))
		if len(r.Ignore) > 0 {
			add(re, "ignore", list(r.Ignore...))
		}
		add(n, "regex", re)
	}
	if js := s.JSON; js != nil {
		add(n, "json", jsonNode(js))
	}
	return n
}

func jsonNode(js *filter.JSONSpec) *yaml.Node {
	n := mapping()
	if js.Prefix != "" {
		add(n, "prefix", scalar(js.Prefix))
	}
	match := mapping()
	for _, c := range js.Match {
		add(match, c.Path, condition(c))
	}
	add(n, "match", match)
	if js.Host != "" {
		add(n, "host", scalar(js.Host))
	}
	if ids := append([]string{js.ID}, js.FallbackIDs...); js.ID != "" && len(ids) == 1 {
		add(n, "id", scalar(js.ID))
	} else if js.ID != "" {
		add(n, "id", flowList(ids...))
	}
	if js.Time != "" {
		add(n, "time", scalar(js.Time))
	}
	return n
}

func condition(c filter.Condition) *yaml.Node {
	switch c.Op {
	case filter.OpOneOf:
		l := flowList()
		for _, v := range c.Values {
			l.Content = append(l.Content, jsonValue(v))
		}
		return l
	case filter.OpRegex:
		return flow(pairs("regex", scalar(c.Regex)))
	case filter.OpExists:
		return flow(pairs("exists", boolean(c.Exists)))
	}
	return jsonValue(c.Values[0])
}

// jsonValue writes a condition's value with the tag that reads it back
// as the same JSON type: "42" the string stays quoted, 42 the number not.
func jsonValue(v any) *yaml.Node {
	switch v := v.(type) {
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	case bool:
		return boolean(v)
	case float64:
		return number(v)
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return scalar(fmt.Sprint(v))
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

// scalar is a string value; the encoder quotes it where YAML would read
// it as something else ("yes", "1", "::1").
func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// number writes a whole number as YAML reads an int (42, not 42.0), and
// any other as a float.
func number(f float64) *yaml.Node {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return integer(int(f))
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'g', -1, 64)}
}

func duration(d time.Duration) *yaml.Node { return scalar(formatDuration(d)) }

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, scalar(key), v)
}

func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func pairs(kv ...any) *yaml.Node {
	m := mapping()
	for i := 0; i+1 < len(kv); i += 2 {
		add(m, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m
}

func list(items ...string) *yaml.Node {
	l := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range items {
		l.Content = append(l.Content, scalar(s))
	}
	return l
}

func flowList(items ...string) *yaml.Node { return flow(list(items...)) }

func flow(n *yaml.Node) *yaml.Node { n.Style = yaml.FlowStyle; return n }

func sortedNames(m map[string]filter.Spec) []string { return slices.Sorted(maps.Keys(m)) }
