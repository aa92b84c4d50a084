// Package alertmanager holds the example Alertmanager configuration for
// peerjail's alerts; its test checks it against the rules it routes.
package alertmanager

import (
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type route struct {
	Receiver string
	Matchers []string
	Routes   []route
}

type config struct {
	Route     route
	Receivers []struct {
		Name           string
		WebhookConfigs []struct{ URL string } `yaml:"webhook_configs"`
	}
	InhibitRules []struct {
		SourceMatchers []string `yaml:"source_matchers"`
		TargetMatchers []string `yaml:"target_matchers"`
	} `yaml:"inhibit_rules"`
}

// TestConfig: every route names a defined receiver, every receiver posts
// to an absolute http URL, and the alert names and severities matched are
// those the rules define. amtool checks the rest where it is installed.
func TestConfig(t *testing.T) {
	var c config
	readYAML(t, "alertmanager.yml", &c)
	receivers := map[string]bool{}
	for _, r := range c.Receivers {
		receivers[r.Name] = true
		if len(r.WebhookConfigs) == 0 {
			t.Errorf("receiver %s has no webhook_configs", r.Name)
		}
		for _, w := range r.WebhookConfigs {
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Errorf("receiver %s: url %q is not an absolute http URL", r.Name, w.URL)
			}
		}
	}
	alerts, severities := ruleAlerts(t)
	var walk func(route)
	walk = func(r route) {
		if !receivers[r.Receiver] {
			t.Errorf("a route sends to receiver %q, which is not defined", r.Receiver)
		}
		checkMatchers(t, r.Matchers, alerts, severities)
		for _, sub := range r.Routes {
			walk(sub)
		}
	}
	walk(c.Route)
	for _, in := range c.InhibitRules {
		checkMatchers(t, in.SourceMatchers, alerts, severities)
		checkMatchers(t, in.TargetMatchers, alerts, severities)
	}
	if amtool, err := exec.LookPath("amtool"); err == nil {
		if out, err := exec.Command(amtool, "check-config", "alertmanager.yml").CombinedOutput(); err != nil {
			t.Errorf("amtool check-config: %v\n%s", err, out)
		}
	} else {
		t.Log("amtool not installed (Debian package prometheus-alertmanager): the routing was checked, not the whole syntax")
	}
}

var matcher = regexp.MustCompile(`^(\w+)(=~|!=|=)"(.*)"$`)

// checkMatchers fails for a matcher on alertname or severity that matches
// no alert of the rules: a typo there silently routes nothing.
func checkMatchers(t *testing.T, ms []string, alerts map[string]string, severities map[string]bool) {
	t.Helper()
	for _, m := range ms {
		p := matcher.FindStringSubmatch(m)
		if p == nil {
			t.Errorf("matcher %q: want name=\"value\", name=~\"regex\" or name!=\"value\"", m)
			continue
		}
		var values map[string]bool
		switch p[1] {
		case "alertname":
			values = map[string]bool{}
			for a := range alerts {
				values[a] = true
			}
		case "severity":
			values = severities
		default:
			continue
		}
		re := regexp.MustCompile("^(?:" + p[3] + ")$")
		hit := false
		for v := range values {
			hit = hit || (p[2] == "=~" && re.MatchString(v)) || (p[2] != "=~" && v == p[3])
		}
		if !hit {
			t.Errorf("matcher %q matches no %s of the rules", m, p[1])
		}
	}
}

// ruleAlerts reads the alert names and their severities from the rules.
func ruleAlerts(t *testing.T) (map[string]string, map[string]bool) {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert  string
				Labels map[string]string
			}
		}
	}
	readYAML(t, "../prometheus/peerjail.rules.yml", &rules)
	alerts, sev := map[string]string{}, map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts[r.Alert] = r.Labels["severity"]
				sev[r.Labels["severity"]] = true
			}
		}
	}
	if len(alerts) == 0 || !strings.HasPrefix(firstKey(alerts), "Peerjail") {
		t.Fatalf("no Peerjail alerts in the rules: %v", alerts)
	}
	return alerts, sev
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
