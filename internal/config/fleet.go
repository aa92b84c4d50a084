package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fleet is the top-level `fleet:` section: where this host shares its
// decisions with the other hosts, and which jails it shares.
type Fleet struct {
	// Servers are nats:// (or tls://) URLs of the NATS servers.
	Servers []string
	// Reporter is this host's NATS user, the subject token its reports
	// are published under; empty means the short host name.
	Reporter string
	// Creds is a NATS credentials file (JWT and nkey seed); NKey is an
	// nkey seed file. At most one is set; absolute after Load.
	Creds, NKey string
	TLS         FleetTLS
	// Stream is the JetStream stream's name; Subject the prefix of the
	// reports' subjects, <Subject>.<reporter>.<jail>.
	Stream, Subject string
	// Replicas is the stream's replica count when peerjail creates it.
	Replicas int
	// Publish are the jails whose local bans are shared.
	Publish []string
	// Pos is where the section is written, for errors found later.
	Pos string
}

// FleetTLS names PEM files; an empty CA means the system's roots.
type FleetTLS struct{ CA, Cert, Key string }

// FleetPolicy is a jail's `fleet:` policy: when the reports of other hosts
// ban a key here.
type FleetPolicy struct {
	// Quorum is how many distinct reporters must report the same key
	// within Window.
	Quorum int
	Window time.Duration
	// BanTime is how long a fleet ban lasts; the jail's bantime by default.
	BanTime time.Duration
	// NeedLocalHit asks for at least one hit of the key in this jail within
	// Window before the fleet's ban is enforced here.
	NeedLocalHit bool

	at   *yaml.Node // for the check that the fleet: section exists
	file fileRef
}

// Defaults of the fleet section.
const (
	DefaultFleetStream  = "PEERJAIL"
	DefaultFleetSubject = "peerjail.reports"
	DefaultFleetWindow  = 10 * time.Minute
	// MaxFleetWindow is how long the stream keeps reports (its max age),
	// so a window may not be longer.
	MaxFleetWindow = 24 * time.Hour
	maxQuorum      = 1000
)

var (
	// A subject token: NATS splits on '.', and '*' and '>' are wildcards.
	fleetToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

	wantServer   = want{"a nats:// URL", "nats://127.0.0.1:4222"}
	wantFile     = want{"a file path", "/etc/peerjail/fleet.creds"}
	wantSubject  = want{"a subject prefix of dot-separated tokens", "peerjail.reports"}
	wantStream   = want{"a stream name (letters, digits, _ and -)", "PEERJAIL"}
	wantReporter = want{"a NATS user name (letters, digits, _ and -)", "host-a"}
	wantQuorum   = want{"a whole number", "2"}
	wantReplicas = want{"a whole number", "3"}
	wantJailRef  = want{"a jail name", "libp2p"}
	egFleet      = "{servers: [nats://127.0.0.1:4222], creds: /etc/peerjail/fleet.creds, publish: [libp2p]}"
	egFleetJail  = "{quorum: 2, window: 10m, bantime: 1h}"
)

// fleet reads the top-level section; it runs after the jails, whose names
// publish: refers to.
func (p *parser) fleet(n *yaml.Node) *Fleet {
	s := scope{p.errs, "fleet"}
	f := &Fleet{Stream: DefaultFleetStream, Subject: DefaultFleetSubject, Replicas: 1,
		Pos: fmt.Sprintf("%s:%d:%d", p.errs.file, resolve(n).Line, resolve(n).Column)}
	var publish []item
	seen, ok := s.mapping(n, "", egFleet, []handler{
		{"servers", func(k string, v *yaml.Node) { f.Servers = s.servers(v, k) }},
		{"reporter", func(k string, v *yaml.Node) { setIf(&f.Reporter)(s.token(v, k, wantReporter)) }},
		{"creds", func(k string, v *yaml.Node) { setIf(&f.Creds)(s.path(v, k, p.dir)) }},
		{"nkey", func(k string, v *yaml.Node) { setIf(&f.NKey)(s.path(v, k, p.dir)) }},
		{"tls", func(k string, v *yaml.Node) { f.TLS = s.fleetTLS(v, k, p.dir) }},
		{"stream", func(k string, v *yaml.Node) { setIf(&f.Stream)(s.token(v, k, wantStream)) }},
		{"subject", func(k string, v *yaml.Node) { setIf(&f.Subject)(s.subject(v, k)) }},
		{"replicas", func(k string, v *yaml.Node) { setIf(&f.Replicas)(s.integer(v, k, wantReplicas, 1, 5)) }},
		{"publish", func(k string, v *yaml.Node) { publish, _ = s.list(v, k, wantJailRef) }},
	})
	if ok && seen["servers"] == nil {
		s.fail(resolve(n), "servers", "missing (e.g. servers: [nats://127.0.0.1:4222])")
	}
	if seen["creds"] != nil && seen["nkey"] != nil {
		s.fail(resolve(seen["nkey"]), "nkey", "set creds or nkey, not both")
	}
	for _, it := range publish {
		name, good := s.str(it.n, it.key, wantJailRef)
		switch {
		case !good:
		case p.jailAt[name] == "":
			s.fail(it.n, it.key, "%q is not a jail (%sjails: %s)", name, didYouMean(name, sortedKeys(p.jailAt)), quoteList(sortedKeys(p.jailAt)))
		default:
			f.Publish = append(f.Publish, name)
		}
	}
	return f
}

// checkFleetPolicies reports jail policies that have no fleet to act on.
func (p *parser) checkFleetPolicies() {
	if p.cfg.Fleet != nil {
		return
	}
	for _, j := range p.cfg.Jails {
		if j.Fleet != nil {
			p.errs.addIn(j.Fleet.file, j.Fleet.at, fmt.Sprintf("jail %q", j.Name), "fleet",
				"needs the top-level fleet: section (e.g. fleet: "+egFleet+")")
		}
	}
}

func (s scope) servers(n *yaml.Node, key string) []string {
	var out []string
	for _, it := range s.items(n, key, wantServer) {
		v, ok := s.str(it.n, it.key, wantServer)
		if !ok {
			continue
		}
		u, err := url.Parse(v)
		switch {
		case err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "":
			s.fail(it.n, it.key, "%s", wantServer.notA(v))
		case u.Scheme != "nats" && u.Scheme != "tls":
			s.fail(it.n, it.key, "%q: scheme %q is not nats or tls (e.g. %s)", v, u.Scheme, wantServer.eg)
		case u.User != nil:
			s.fail(it.n, it.key, "%q: put credentials in creds: or nkey:, not in the URL", v)
		default:
			out = append(out, v)
		}
	}
	return out
}

func (s scope) token(n *yaml.Node, key string, w want) (string, bool) {
	v, ok := s.str(n, key, w)
	if ok && !fleetToken.MatchString(v) {
		s.fail(resolve(n), key, "%s", w.notA(v))
		return "", false
	}
	return v, ok
}

func (s scope) subject(n *yaml.Node, key string) (string, bool) {
	v, ok := s.str(n, key, wantSubject)
	if !ok {
		return "", false
	}
	for _, t := range strings.Split(v, ".") {
		if !fleetToken.MatchString(t) {
			s.fail(resolve(n), key, "%s", wantSubject.notA(v))
			return "", false
		}
	}
	return v, true
}

// path reads a file name; relative ones are taken from the config's
// directory, as source globs are.
func (s scope) path(n *yaml.Node, key, dir string) (string, bool) {
	v, ok := s.str(n, key, wantFile)
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(dir, v)
	}
	return v, true
}

func (s scope) fleetTLS(n *yaml.Node, key, dir string) FleetTLS {
	var t FleetTLS
	seen, ok := s.mapping(n, key, "{ca: /etc/peerjail/nats-ca.pem, cert: host.pem, key: host-key.pem}", []handler{
		{"ca", func(k string, v *yaml.Node) { setIf(&t.CA)(s.path(v, k, dir)) }},
		{"cert", func(k string, v *yaml.Node) { setIf(&t.Cert)(s.path(v, k, dir)) }},
		{"key", func(k string, v *yaml.Node) { setIf(&t.Key)(s.path(v, k, dir)) }},
	})
	if ok && (seen["cert"] == nil) != (seen["key"] == nil) {
		s.fail(resolve(n), key, "cert and key go together (e.g. {cert: host.pem, key: host-key.pem})")
	}
	return t
}

// fleetPolicy reads a jail's fleet: policy; the jail's bantime fills in a
// missing bantime once the jail is read.
func (s scope) fleetPolicy(n *yaml.Node, key string) *FleetPolicy {
	fp := &FleetPolicy{Window: DefaultFleetWindow, at: resolve(n), file: s.errs.current()}
	seen, ok := s.mapping(n, key, egFleetJail, []handler{
		{"quorum", func(k string, v *yaml.Node) { setIf(&fp.Quorum)(s.integer(v, k, wantQuorum, 1, maxQuorum)) }},
		{"window", func(k string, v *yaml.Node) {
			if d, good := s.duration(v, k); good && d > MaxFleetWindow {
				s.fail(resolve(v), k, "%q is longer than the stream keeps reports (%s)", resolve(v).Value, formatDuration(MaxFleetWindow))
			} else {
				setIf(&fp.Window)(d, good)
			}
		}},
		{"bantime", func(k string, v *yaml.Node) { setIf(&fp.BanTime)(s.duration(v, k)) }},
		{"need_local_hit", func(k string, v *yaml.Node) { setIf(&fp.NeedLocalHit)(s.boolean(v, k)) }},
	})
	if seen == nil {
		return nil // not a mapping, and said so
	}
	if ok && seen["quorum"] == nil {
		s.fail(resolve(n), key+".quorum", "missing (e.g. fleet: %s)", egFleetJail)
	}
	return fp
}

// withBanTime fills in the jail's bantime when the policy sets none.
func (fp *FleetPolicy) withBanTime(d time.Duration) *FleetPolicy {
	if fp != nil && fp.BanTime == 0 {
		fp.BanTime = d
	}
	return fp
}

func (f *Fleet) summary() string {
	reporter := f.Reporter
	if reporter == "" {
		reporter = "the host's name"
	}
	parts := []string{"servers " + strings.Join(f.Servers, " "), "reporter " + reporter}
	switch {
	case f.Creds != "":
		parts = append(parts, "creds "+f.Creds)
	case f.NKey != "":
		parts = append(parts, "nkey "+f.NKey)
	default:
		parts = append(parts, "no credentials")
	}
	if f.TLS.Cert != "" || f.TLS.CA != "" {
		parts = append(parts, "tls")
	}
	parts = append(parts, fmt.Sprintf("stream %s (%s.<reporter>.<jail>, %d replicas)", f.Stream, f.Subject, f.Replicas))
	if len(f.Publish) == 0 {
		parts = append(parts, "publishes nothing")
	} else {
		parts = append(parts, "publish "+strings.Join(f.Publish, ", "))
	}
	return "fleet: " + strings.Join(parts, ", ")
}

func (fp *FleetPolicy) summary() string {
	s := fmt.Sprintf("fleet quorum %d in %s, fleet ban %s", fp.Quorum, formatDuration(fp.Window), formatDuration(fp.BanTime))
	if fp.NeedLocalHit {
		s += " after a local hit"
	}
	return s
}
