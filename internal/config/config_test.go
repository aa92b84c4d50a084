package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"

	"github.com/peerjail/peerjail/internal/golden"
)

func TestLoadGoodSummaries(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	files = append(files, "../../configs/peerjail.yaml")
	examples, _ := filepath.Glob("../../configs/examples/*.yaml")
	files = append(files, examples...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".yaml")
			if filepath.Base(filepath.Dir(f)) == "examples" {
				name = "example-" + name
			}
			golden.CheckString(t, filepath.Join("testdata/good", name+".summary"), strings.Join(c.Summary(), "\n")+"\n")
		})
	}
}

func TestBuiltinDefaults(t *testing.T) {
	c, err := Load("testdata/good/minimal.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jails) != 1 {
		t.Fatalf("got %d jails, want 1", len(c.Jails))
	}
	j := c.Jails[0]
	want := jail.Policy{
		Name:       "ssh",
		FindTime:   10 * time.Minute,
		MaxRetry:   5,
		BanTime:    time.Hour,
		IgnoreIP:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IPv6Prefix: 64,
		MaxHosts:   1_000_000,
	}
	if !reflect.DeepEqual(j.Policy, want) {
		t.Errorf("policy = %+v\nwant     %+v", j.Policy, want)
	}
	if !j.IgnoreSelf || j.Protocol != "all" || ActionNames(j.Actions) != "nftables" || j.Ports != nil || j.DatePattern != "" {
		t.Errorf("ignoreself %v protocol %q action %q ports %v datepattern %q: want true, all, nftables, none, none",
			j.IgnoreSelf, j.Protocol, ActionNames(j.Actions), j.Ports, j.DatePattern)
	}
	if j.FilterName != "sshd" || j.Filter.Regex == nil || len(j.Filter.Regex.Fail) == 0 {
		t.Errorf("filter %q %+v: want the stock sshd filter", j.FilterName, j.Filter)
	}
	if !reflect.DeepEqual(j.Files, []string{"/var/log/auth.log"}) || j.Journal != nil {
		t.Errorf("files %q journal %q", j.Files, j.Journal)
	}
}

func TestLayering(t *testing.T) {
	c, err := Load("testdata/good/layered.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jails) != 2 || c.Jails[0].Name != "a" || c.Jails[1].Name != "b" {
		t.Fatalf("jails %v: want a and b in file order, off left out", c.Summary())
	}
	a, b := c.Jails[0], c.Jails[1]
	// a takes everything from defaults.
	if a.Policy.FindTime != 90*time.Minute || a.Policy.MaxRetry != 3 || a.Policy.BanTime != 60*time.Hour ||
		a.Policy.Increment != (jail.Increment{Factor: 1.5, MaxTime: 7 * 24 * time.Hour}) ||
		!reflect.DeepEqual(a.Policy.IgnoreIP, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}) ||
		!reflect.DeepEqual(a.Ports, []PortRange{{22, 22}}) || a.Protocol != "tcp" || ActionNames(a.Actions) != "dry-run" {
		t.Errorf("jail a did not inherit the defaults: %+v", a)
	}
	// b overrides them, and its lists replace the defaults' lists.
	if b.Policy.FindTime != 30*time.Second || b.Policy.MaxRetry != 3 || b.Policy.BanTime != 7*24*time.Hour ||
		b.Policy.Increment.Factor != 1 || b.Policy.IPv6Prefix != 56 || b.Policy.MaxHosts != 1000 ||
		!reflect.DeepEqual(b.Policy.IgnoreIP, []netip.Prefix{netip.MustParsePrefix("::1/128")}) ||
		!reflect.DeepEqual(b.Ports, []PortRange{{22, 22}, {2222, 2230}}) || b.Protocol != "all" ||
		ActionNames(b.Actions) != "nftables" || b.DatePattern != "iso8601" ||
		!reflect.DeepEqual(b.Journal, []string{"_SYSTEMD_UNIT=ssh.service"}) {
		t.Errorf("jail b did not override the defaults: %+v", b)
	}
}

func TestOwnFilters(t *testing.T) {
	c, err := Load("testdata/good/own-filters.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(c.Filters); !reflect.DeepEqual(got, []string{"my-json", "my-regex", "sshd"}) {
		t.Errorf("filters %v", got)
	}
	want := filter.JSONSpec{
		Prefix: `^\S+ \S+\[\d+\]: `,
		Match: []filter.Condition{
			{Path: "suspicious", Op: filter.OpEqual, Values: []any{true}},
			{Path: "level", Op: filter.OpOneOf, Values: []any{"warn", "error"}},
			{Path: "message", Op: filter.OpRegex, Regex: "^potential"},
			{Path: "remote_address", Op: filter.OpExists, Exists: true},
			{Path: "journal._SYSTEMD_UNIT", Op: filter.OpEqual, Values: []any{"flow.service"}},
			{Path: "code", Op: filter.OpEqual, Values: []any{42.0}},
			{Path: "gone", Op: filter.OpExists, Exists: false},
			{Path: "reason", Op: filter.OpEqual, Values: []any{nil}},
		},
		Host: "remote_address",
		Time: "ts",
	}
	if got := c.Filters["my-json"]; got.Name != "my-json" || got.Regex != nil || !reflect.DeepEqual(*got.JSON, want) {
		t.Errorf("my-json = %+v\nwant %+v", got.JSON, want)
	}
	re := c.Filters["my-regex"]
	if re.Description != "failed logins of my service" ||
		!reflect.DeepEqual(re.Regex, &filter.RegexSpec{
			Fail:   []string{"Failed login from <HOST>", "Bad token from peer <ID>"},
			Ignore: []string{"trusted"},
		}) {
		t.Errorf("my-regex = %+v", re)
	}
	// A defined filter named like a stock one replaces it.
	ssh := c.Jails[2]
	if ssh.FilterName != "sshd" || !reflect.DeepEqual(ssh.Filter.Regex.Fail, []string{"Invalid user .* from <HOST>"}) {
		t.Errorf("jail ssh uses %+v, want the config's own sshd", ssh.Filter.Regex)
	}
	// Aliases resolve.
	for _, j := range c.Jails[:2] {
		if j.Policy.MaxRetry != 2 || !reflect.DeepEqual(j.Files, []string{"/var/log/my/*.log"}) {
			t.Errorf("jail %s: maxretry %d files %q", j.Name, j.Policy.MaxRetry, j.Files)
		}
	}
}

func TestRelativeGlobs(t *testing.T) {
	data := []byte("jails:\n  a:\n    filter: sshd\n    source: {files: [logs/*.log, ../x.log, /abs/./y.log, '-']}\n")
	c, err := Parse("etc/p.yaml", data, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// "-" is standard input, not a file next to the config.
	if want := []string{"etc/logs/*.log", "x.log", "/abs/y.log", "-"}; !reflect.DeepEqual(c.Jails[0].Files, want) {
		t.Errorf("Parse: files %q, want %q", c.Jails[0].Files, want)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c, err = Load("p.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Jails[0].Files[3]; got != "-" {
		t.Errorf("Load: files[3] = %q, want -", got)
	}
	if got := c.Jails[0].Files[0]; got != filepath.Join(dir, "logs/*.log") {
		t.Errorf("Load: files[0] = %q, want it under %s", got, dir)
	}
	if c.Path != "p.yaml" {
		t.Errorf("Path = %q, want the path as given", c.Path)
	}
}

func TestSourcesOptional(t *testing.T) {
	data := []byte("jails:\n  a:\n    filter: sshd\n")
	if _, err := Parse("p.yaml", data, LoadOptions{}); err == nil {
		t.Error("a jail without source passed when sources are required")
	}
	c, err := Parse("p.yaml", data, LoadOptions{SourcesOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	if j := c.Jails[0]; j.Files != nil || j.Journal != nil {
		t.Errorf("files %q journal %q, want none", j.Files, j.Journal)
	}
	// A source that is present is still checked.
	_, err = Parse("p.yaml", []byte("jails:\n  a:\n    filter: sshd\n    source: {}\n"), LoadOptions{SourcesOptional: true})
	if err == nil {
		t.Error("an empty source passed")
	}
}

func TestDisabledJailIsStillChecked(t *testing.T) {
	_, err := Parse("p.yaml", []byte("jails:\n  a:\n    enabled: false\n    filter: sshd\n    maxretry: 0\n"), LoadOptions{SourcesOptional: true})
	if err == nil || !strings.Contains(err.Error(), "p.yaml:5:15: jail \"a\": maxretry: 0 is out of range") {
		t.Errorf("got %v", err)
	}
}

func TestLoadMissingFileIsNotInvalid(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), LoadOptions{})
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v: want a not-exist error that is not ErrInvalid (exit 1, not 2)", err)
	}
}

func TestDurationsInConfig(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1d", 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"2d12h", 60 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
	} {
		data := "jails:\n  a:\n    filter: sshd\n    findtime: " + tc.text + "\n    bantime: " + tc.text + "\n"
		c, err := Parse("p.yaml", []byte(data), LoadOptions{SourcesOptional: true})
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		if p := c.Jails[0].Policy; p.FindTime != tc.want || p.BanTime != tc.want {
			t.Errorf("%s: findtime %v bantime %v, want %v", tc.text, p.FindTime, p.BanTime, tc.want)
		}
	}
}

func BenchmarkLoadExample(b *testing.B) {
	data, err := os.ReadFile("../../configs/peerjail.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("peerjail.yaml", data, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// max_clock_skew defaults to 1m, is set under defaults for every jail, and a
// jail's own value wins; check shows it only when it is not the default.
func TestMaxClockSkew(t *testing.T) {
	const text = `defaults:
  max_clock_skew: 5m
jails:
  a: {filter: sshd, source: {files: [/var/log/auth.log]}}
  b: {filter: sshd, source: {files: [/var/log/auth.log]}, max_clock_skew: 30s}
`
	c, err := Parse("p.yaml", []byte(text), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := []time.Duration{c.Jails[0].MaxClockSkew, c.Jails[1].MaxClockSkew}; got[0] != 5*time.Minute || got[1] != 30*time.Second {
		t.Errorf("skews %v, want [5m 30s]", got)
	}
	if s := c.Summary(); !strings.HasSuffix(s[1], ", clock skew 30s") {
		t.Errorf("summary %q does not show the skew", s[1])
	}
	c, err = Parse("p.yaml", []byte("jails:\n  a: {filter: sshd, source: {files: [/x]}}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Jails[0].MaxClockSkew != time.Minute || strings.Contains(c.Summary()[0], "skew") {
		t.Errorf("default skew %v, summary %q", c.Jails[0].MaxClockSkew, c.Summary()[0])
	}
}
