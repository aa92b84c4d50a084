package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// ActionSpec is one entry of a jail's `actions:` list (the `action:` key is
// a shorthand for a list of one entry without options). Each type reads
// only its own options; any other key is a config error.
type ActionSpec struct {
	Type ActionType
	// Pos is where the entry is written ("peerjail.yaml:12:9"), for errors
	// found after loading (a backend that cannot start).
	Pos string

	// URL is the flow-admin server ("http://127.0.0.1:9002") or the
	// webhook's target.
	URL string
	// AllowRemote lets a flow-admin URL name a host other than loopback.
	AllowRemote bool
	// Timeout bounds one request (flow-admin, webhook) or one run of the
	// program (exec).
	Timeout time.Duration
	// Retries is how often a failed delivery is tried again, with backoff,
	// before it is dropped and counted (webhook, exec).
	Retries int
	// Queue bounds the decisions waiting for the action; when it is full
	// the oldest is dropped and counted.
	Queue int
	// Template, when set, is a text/template that renders the webhook's
	// body (a Slack- or Discord-compatible {"text": …} for instance)
	// instead of the JSON document of the decision.
	Template string
	// Headers are extra HTTP headers of the webhook's requests.
	Headers map[string]string
	// Ban and Unban are the program and its arguments that exec runs, with
	// placeholders ({jail}, {key}, {action}, {until}, …) replaced in each
	// argument; never through a shell.
	Ban, Unban []string
	// Concurrency limits how many runs of the program exec starts at once.
	Concurrency int

	retriesSet bool // while parsing: retries was written, so 0 is meant
}

// ActionType names a backend.
type ActionType string

const (
	// ActionNFTables bans addresses and prefixes in the kernel, in
	// peerjail's nftables table.
	ActionNFTables ActionType = "nftables"
	// ActionDryRun only logs the bans the jail decides; they are counted,
	// stored and listed like any other, but nothing drops a packet.
	ActionDryRun ActionType = "dry-run"
	// ActionFlowAdmin blocks node IDs through a Flow node's admin server.
	ActionFlowAdmin ActionType = "flow-admin"
	// ActionWebhook POSTs each decision with its evidence to a URL.
	ActionWebhook ActionType = "webhook"
	// ActionExec runs a program for each decision.
	ActionExec ActionType = "exec"
)

// Defaults of an action's options, where the entry does not set them.
const (
	DefaultActionTimeout = 5 * time.Second
	DefaultActionQueue   = 10000
	DefaultConcurrency   = 4
	// DefaultRetries is the retries of a webhook or exec action: they
	// notify, and a message that cannot be delivered after a few minutes of
	// backoff is better dropped and counted than kept forever. nftables and
	// flow-admin enforce, so they retry until it works (Retries 0).
	DefaultRetries = 5
)

// Key names the action among a jail's actions, in the store and in
// metrics: its type and the target that tells two of the same type apart.
// A jail's actions have distinct keys.
func (s ActionSpec) Key() string {
	switch s.Type {
	case ActionFlowAdmin, ActionWebhook:
		return string(s.Type) + " " + s.URL
	case ActionExec:
		return string(s.Type) + " " + strings.Join(s.Ban, " ")
	}
	return string(s.Type)
}

// Async reports whether the daemon runs the action behind a queue, after
// the store commit; nftables and dry-run are applied in the flush itself.
func (s ActionSpec) Async() bool { return s.Type != ActionNFTables && s.Type != ActionDryRun }

// Label is how status and the config summary name the action: its Key,
// but a webhook's URL without its path and query, which often hold the
// hook's secret (Slack's and Discord's do), and exec's program alone. It
// is the name the webhook backend gives itself.
func (s ActionSpec) Label() string {
	switch s.Type {
	case ActionWebhook:
		if u, err := url.Parse(s.URL); err == nil {
			return string(s.Type) + " " + u.Scheme + "://" + u.Host
		}
	case ActionExec:
		if len(s.Ban) > 0 {
			return string(s.Type) + " " + s.Ban[0]
		}
	}
	return s.Key()
}

// ActionNames is the comma list of a jail's action labels, the form the
// single `action` of status and the config summary had.
func ActionNames(specs []ActionSpec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Label()
	}
	return strings.Join(names, ", ")
}

var (
	actionTypes = []string{string(ActionNFTables), string(ActionFlowAdmin), string(ActionWebhook), string(ActionExec), string(ActionDryRun)}
	// shorthands are the types `action:` can name: those that need no
	// option.
	shorthands = []string{string(ActionNFTables), string(ActionDryRun)}

	wantRetries     = want{"a whole number of retries (0: until it works)", "5"}
	wantQueue       = want{"a queue length", "10000"}
	wantConcurrency = want{"a whole number", "4"}
	wantURL         = want{"an http or https URL", "http://127.0.0.1:9002"}
	wantHookURL     = want{"an http or https URL", "https://hooks.slack.com/services/T0/B0/X"}
	wantArgv        = want{"a program and its arguments", "[/usr/sbin/ufw, insert, '1', deny, from, '{key}']"}
	wantHeader      = want{"a header value", "Bearer s3cret"}
	wantTemplate    = want{"a text/template", `'{"text": {{printf "ban %s in %s" .Key .Jail | json}}}'`}
	egActions       = "[{type: nftables}, {type: webhook, url: https://example.org/hook}]"
	egAction        = "{type: flow-admin, url: http://127.0.0.1:9002}"
)

const (
	maxRetries     = 1_000_000
	maxQueue       = 10_000_000
	maxConcurrency = 1024
)

// actionShorthand reads `action: nftables`.
func (s scope) actionShorthand(n *yaml.Node, key string) ([]ActionSpec, bool) {
	if v := resolve(n); v.Kind == yaml.ScalarNode && indexOf(actionTypes, v.Value) >= 0 && indexOf(shorthands, v.Value) < 0 {
		s.fail(v, key, "%s needs options: use actions: [%s]", v.Value, egAction)
		return nil, false
	}
	t, ok := s.oneOf(n, key, "an action", shorthands)
	if !ok {
		return nil, false
	}
	return []ActionSpec{withActionDefaults(ActionSpec{Type: ActionType(t), Pos: s.errs.place(resolve(n))})}, true
}

// actionList reads `actions: [...]`.
func (s scope) actionList(n *yaml.Node, key string) ([]ActionSpec, bool) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		s.wrongKind(n, key, want{"a list of actions", egActions})
		return nil, false
	}
	if len(n.Content) == 0 {
		s.fail(n, key, "empty list (e.g. %s)", egActions)
		return nil, false
	}
	ok := true
	out := make([]ActionSpec, 0, len(n.Content))
	at := map[string]*yaml.Node{}
	for i, c := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		spec, good := s.actionEntry(resolve(c), k)
		if !good {
			ok = false
			continue
		}
		if first := at[spec.Key()]; first != nil {
			s.fail(resolve(c), k, "%s is already listed (at line %d)", spec.Key(), first.Line)
			ok = false
			continue
		}
		at[spec.Key()] = resolve(c)
		out = append(out, spec)
	}
	if ok && at[string(ActionNFTables)] != nil && at[string(ActionDryRun)] != nil {
		s.fail(at[string(ActionDryRun)], key, "dry-run and nftables together: dry-run only logs what nftables would enforce; keep one")
		ok = false
	}
	return out, ok
}

// actionEntry reads one entry of the list: its type first, which decides
// the keys it may have.
func (s scope) actionEntry(n *yaml.Node, key string) (ActionSpec, bool) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		// `- nftables` in the list: the shorthand's word.
		specs, ok := s.actionShorthand(n, key)
		if !ok {
			return ActionSpec{}, false
		}
		return specs[0], true
	}
	ps, ok := s.pairs(n, key, want{"an action", egAction})
	if !ok {
		return ActionSpec{}, false
	}
	var typeNode *yaml.Node
	for _, p := range ps {
		if p.k.Value == "type" {
			typeNode = p.v
		}
	}
	if typeNode == nil {
		s.fail(n, key+".type", "missing (one of %s)", quoteList(actionTypes))
		return ActionSpec{}, false
	}
	t, ok := s.oneOf(typeNode, key+".type", "an action type", actionTypes)
	if !ok {
		return ActionSpec{}, false
	}
	spec := ActionSpec{Type: ActionType(t), Pos: s.errs.place(n)}
	seen, ok := s.mapping(n, key, egAction, append([]handler{{"type", func(string, *yaml.Node) {}}}, s.actionOptions(&spec)...))
	if !ok {
		return ActionSpec{}, false
	}
	before := s.errs.count()
	s.requireActionKeys(n, key, spec, seen)
	return withActionDefaults(spec), s.errs.count() == before
}

// actionOptions are the keys of spec's type.
func (s scope) actionOptions(spec *ActionSpec) []handler {
	timeout := handler{"timeout", func(k string, v *yaml.Node) { setIf(&spec.Timeout)(s.duration(v, k)) }}
	retries := handler{"retries", func(k string, v *yaml.Node) {
		if r, ok := s.integer(v, k, wantRetries, 0, maxRetries); ok {
			spec.Retries = r
			spec.retriesSet = true
		}
	}}
	queue := handler{"queue", func(k string, v *yaml.Node) { setIf(&spec.Queue)(s.integer(v, k, wantQueue, 1, maxQueue)) }}
	switch spec.Type {
	case ActionFlowAdmin:
		return []handler{
			{"url", func(k string, v *yaml.Node) { setIf(&spec.URL)(s.url(v, k, wantURL)) }},
			{"allow_remote", func(k string, v *yaml.Node) { setIf(&spec.AllowRemote)(s.boolean(v, k)) }},
			timeout, retries, queue,
		}
	case ActionWebhook:
		return []handler{
			{"url", func(k string, v *yaml.Node) { setIf(&spec.URL)(s.url(v, k, wantHookURL)) }},
			timeout, retries, queue,
			{"template", func(k string, v *yaml.Node) { setIf(&spec.Template)(s.template(v, k)) }},
			{"headers", func(k string, v *yaml.Node) { setIf(&spec.Headers)(s.headers(v, k)) }},
		}
	case ActionExec:
		return []handler{
			{"ban", func(k string, v *yaml.Node) { setIf(&spec.Ban)(s.argv(v, k)) }},
			{"unban", func(k string, v *yaml.Node) { setIf(&spec.Unban)(s.argv(v, k)) }},
			timeout, retries, queue,
			{"concurrency", func(k string, v *yaml.Node) {
				setIf(&spec.Concurrency)(s.integer(v, k, wantConcurrency, 1, maxConcurrency))
			}},
		}
	}
	return nil // nftables and dry-run take no options
}

// requireActionKeys reports the options a type cannot do without, and a
// flow-admin URL off this host unless allowed.
func (s scope) requireActionKeys(n *yaml.Node, key string, spec ActionSpec, seen map[string]*yaml.Node) {
	switch spec.Type {
	case ActionFlowAdmin:
		if seen["url"] == nil {
			s.fail(n, key+".url", "missing (e.g. url: %s)", wantURL.eg)
			return
		}
		if u, err := url.Parse(spec.URL); err == nil && (u.RawQuery != "" || u.Fragment != "") {
			s.fail(seen["url"], key+".url", "%q: a query or fragment has no meaning for the admin server (e.g. %s)", spec.URL, wantURL.eg)
		}
		if spec.URL != "" && !spec.AllowRemote && !loopbackURL(spec.URL) {
			s.fail(seen["url"], key+".url", "%q is not on this host: a Flow node's admin port must stay on localhost (127.0.0.1, ::1 or localhost); "+
				"bind it there, or set allow_remote: true if it is reached over a tunnel you trust", spec.URL)
		}
	case ActionWebhook:
		if seen["url"] == nil {
			s.fail(n, key+".url", "missing (e.g. url: %s)", wantHookURL.eg)
		}
	case ActionExec:
		if seen["ban"] == nil {
			s.fail(n, key+".ban", "missing (e.g. ban: %s)", wantArgv.eg)
		}
	}
}

func withActionDefaults(s ActionSpec) ActionSpec {
	if !s.Async() {
		return s
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultActionTimeout
	}
	if s.Queue == 0 {
		s.Queue = DefaultActionQueue
	}
	if !s.retriesSet && (s.Type == ActionWebhook || s.Type == ActionExec) {
		s.Retries = DefaultRetries
	}
	if s.Type == ActionExec && s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	s.retriesSet = false // only parsing needs it; Jails compare equal by value
	return s
}

func (s scope) url(n *yaml.Node, key string, w want) (string, bool) {
	n, ok := s.scalar(n, key, w)
	if !ok {
		return "", false
	}
	u, err := url.Parse(n.Value)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		s.fail(n, key, "%s", w.notA(n.Value))
	case u.User != nil:
		s.fail(n, key, "%q holds a user or password; pass credentials in headers instead", n.Value)
	default:
		return n.Value, true
	}
	return "", false
}

// loopbackURL reports whether raw, a URL url accepted, names this host.
func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// argv reads a program and its arguments. The program must be an absolute
// path: peerjail runs it without a shell and without searching PATH, whose
// value differs between a login shell and the service manager, so that
// what `peerjail check` accepts is what the daemon runs.
func (s scope) argv(n *yaml.Node, key string) ([]string, bool) {
	args, items, ok := s.strings(n, key, wantArgv)
	if !ok {
		return nil, false
	}
	if strings.Contains(args[0], "{") {
		s.fail(items[0].n, items[0].key, "%q: the program is fixed by the config; placeholders go in its arguments", args[0])
		return nil, false
	}
	for i, arg := range args[1:] {
		if name, ok := unknownPlaceholder(arg); ok {
			s.fail(items[i+1].n, items[i+1].key, "{%s} is no placeholder (they are {%s})", name, strings.Join(ExecPlaceholders, "}, {"))
			return nil, false
		}
	}
	if !filepath.IsAbs(args[0]) {
		s.fail(items[0].n, items[0].key, "%q is not an absolute path (e.g. /usr/sbin/%s): the program runs without a shell and PATH is not searched",
			args[0], filepath.Base(args[0]))
		return nil, false
	}
	return args, true
}

// ExecPlaceholders are the words an exec argument may hold in braces
// ({key}); the exec backend replaces them. Braces around anything else than
// a lower-case word stay literal ("${HOME}", "{ }").
var ExecPlaceholders = []string{"jail", "key", "action", "at", "until", "duration", "addrs", "hits", "offences"}

// unknownPlaceholder finds a {word} in arg that is no placeholder, so that
// a typo ({kye}) is a config error rather than text the program gets.
func unknownPlaceholder(arg string) (string, bool) {
	for rest := arg; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return "", false
		}
		end := strings.IndexByte(rest[i+1:], '}')
		if end < 0 {
			return "", false
		}
		name := rest[i+1 : i+1+end]
		if name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz") == "" {
			if indexOf(ExecPlaceholders, name) < 0 {
				return name, true
			}
			rest = rest[i+1+end+1:]
			continue
		}
		rest = rest[i+1:]
	}
}

func (s scope) template(n *yaml.Node, key string) (string, bool) {
	n, ok := s.scalar(n, key, wantTemplate)
	if !ok {
		return "", false
	}
	if _, err := template.New("webhook").Funcs(templateNames).Option("missingkey=error").Parse(n.Value); err != nil {
		s.fail(n, key, "not a valid text/template: %v (helpers besides text/template's: %s; e.g. %s)", err, strings.Join(WebhookTemplateFuncs, ", "), wantTemplate.eg)
		return "", false
	}
	return n.Value, true
}

// WebhookTemplateFuncs are the helpers a webhook template may call besides
// text/template's own; the webhook backend defines them. Loading checks a
// template's syntax and the names it calls, not what they do.
var WebhookTemplateFuncs = []string{"json", "slack", "discord", "join", "truncate"}

// templateNames declares WebhookTemplateFuncs to the parser, which wants a
// function for each name; parsing never calls them.
var templateNames = func() template.FuncMap {
	m := template.FuncMap{}
	for _, name := range WebhookTemplateFuncs {
		m[name] = func(...any) string { return "" }
	}
	return m
}()

var headerName = regexp.MustCompile("^[0-9A-Za-z-]{1,256}$")

func (s scope) headers(n *yaml.Node, key string) (map[string]string, bool) {
	ps, ok := s.pairs(n, key, want{"a mapping of header → value", "{Authorization: Bearer s3cret}"})
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		k := joinKey(key, p.k.Value)
		if !headerName.MatchString(p.k.Value) {
			s.fail(p.k, k, "%q is not a header name: letters, digits and - (e.g. Authorization)", p.k.Value)
			ok = false
			continue
		}
		v, good := s.str(p.v, k, wantHeader)
		if good && strings.ContainsAny(v, "\r\n\x00") {
			s.fail(p.v, k, "a header value holds no line break or NUL")
			good = false
		}
		ok = ok && good
		out[p.k.Value] = v
	}
	return out, ok
}

// Kernel reports whether one of the jail's actions bans in the kernel's
// nftables sets, which the daemon must then open at start.
func (j *Jail) Kernel() bool {
	for _, s := range j.Actions {
		if s.Type == ActionNFTables {
			return true
		}
	}
	return false
}
