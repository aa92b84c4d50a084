package config

import (
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Heartbeat is the dead-man switch: the daemon requests URL every Interval
// while it is healthy, so that a monitor that stops hearing from it (a
// healthchecks.io check, an uptime monitor) raises the alarm. Missed pings
// are the signal; URL + "/fail" is requested when the daemon knows it is
// unhealthy, for monitors that alert at once on that.
type Heartbeat struct {
	URL      string
	Interval time.Duration // default 1m
	Timeout  time.Duration // of one request; default 10s, at most Interval
	Method   string        // GET or POST; default GET
	// Quiet, when set, makes a jail that has read no line for longer
	// unhealthy: its log is no longer being written, or no longer read.
	Quiet time.Duration
}

// Heartbeat defaults.
const (
	DefaultHeartbeatInterval = time.Minute
	DefaultHeartbeatTimeout  = 10 * time.Second
)

const egHeartbeat = "{url: https://hc-ping.com/UUID, interval: 1m}"

var (
	wantPingURL    = want{"an http or https URL", "https://hc-ping.com/UUID"}
	heartbeatVerbs = []string{"GET", "POST"}
)

// heartbeat reads the top-level heartbeat: section.
func (p *parser) heartbeat(n *yaml.Node) {
	s := scope{p.errs, "heartbeat"}
	hb := &Heartbeat{Interval: DefaultHeartbeatInterval, Timeout: DefaultHeartbeatTimeout, Method: "GET"}
	var urlNode, timeoutNode *yaml.Node
	good := true
	set := func(ok bool) { good = good && ok }
	seen, ok := s.mapping(n, "", egHeartbeat, []handler{
		{"url", func(k string, v *yaml.Node) {
			urlNode = v
			var ok bool
			hb.URL, ok = s.pingURL(v, k)
			set(ok)
		}},
		{"interval", func(k string, v *yaml.Node) { d, ok := s.duration(v, k); hb.Interval = d; set(ok) }},
		{"timeout", func(k string, v *yaml.Node) {
			timeoutNode = v
			d, ok := s.duration(v, k)
			hb.Timeout = d
			set(ok)
		}},
		{"method", func(k string, v *yaml.Node) {
			m, ok := s.oneOf(v, k, "an HTTP method", heartbeatVerbs)
			hb.Method = m
			set(ok)
		}},
		{"quiet", func(k string, v *yaml.Node) { d, ok := s.duration(v, k); hb.Quiet = d; set(ok) }},
	})
	if seen == nil {
		return
	}
	if urlNode == nil && ok {
		s.fail(n, "url", "missing (e.g. %s)", egHeartbeat)
		good = false
	}
	if timeoutNode == nil && hb.Timeout > hb.Interval {
		hb.Timeout = hb.Interval
	}
	if timeoutNode != nil && good && hb.Timeout > hb.Interval {
		s.fail(timeoutNode, "timeout", "%s is longer than the interval %s: pings would overlap",
			formatDuration(hb.Timeout), formatDuration(hb.Interval))
		good = false
	}
	if good && ok {
		p.cfg.Heartbeat = hb
	}
}

// pingURL reads the monitor's URL: absolute http or https, without a query
// or fragment, because the failure ping appends /fail to the path.
func (s scope) pingURL(n *yaml.Node, key string) (string, bool) {
	raw, ok := s.url(n, key, wantPingURL)
	if !ok {
		return "", false
	}
	if u, err := url.Parse(raw); err != nil || u.RawQuery != "" || u.Fragment != "" {
		s.fail(n, key, "%q has a query or fragment; the failure ping appends /fail to the path (e.g. %s)", raw, wantPingURL.eg)
		return "", false
	}
	return strings.TrimSuffix(raw, "/"), true
}
