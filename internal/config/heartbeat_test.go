package config

import (
	"errors"
	"testing"
	"time"
)

const hbJails = "jails:\n  s:\n    filter: sshd\n    source: {files: /var/log/x.log}\n"

func TestHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       *Heartbeat
	}{
		{"absent", hbJails, nil},
		{"defaults", hbJails + "heartbeat: {url: https://hc-ping.com/abc/}\n",
			&Heartbeat{URL: "https://hc-ping.com/abc", Interval: time.Minute, Timeout: 10 * time.Second, Method: "GET"}},
		{"every field", hbJails + "heartbeat:\n  url: http://127.0.0.1:8000/ping\n  interval: 30s\n  timeout: 5s\n  method: POST\n  quiet: 1h\n",
			&Heartbeat{URL: "http://127.0.0.1:8000/ping", Interval: 30 * time.Second, Timeout: 5 * time.Second, Method: "POST", Quiet: time.Hour}},
		// The default timeout shrinks to a short interval; a set one must fit.
		{"short interval", hbJails + "heartbeat: {url: http://h/p, interval: 2s}\n",
			&Heartbeat{URL: "http://h/p", Interval: 2 * time.Second, Timeout: 2 * time.Second, Method: "GET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("p.yaml", []byte(tc.yaml), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && c.Heartbeat != nil:
				t.Errorf("heartbeat %+v, want none", *c.Heartbeat)
			case tc.want != nil && (c.Heartbeat == nil || *c.Heartbeat != *tc.want):
				t.Errorf("heartbeat %+v, want %+v", c.Heartbeat, *tc.want)
			}
		})
	}
}

func TestHeartbeatErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"no url", hbJails + "heartbeat: {interval: 1m}\n",
			`p.yaml:5:12: heartbeat: url: missing (e.g. {url: https://hc-ping.com/UUID, interval: 1m})`},
		{"not a url", hbJails + "heartbeat: {url: hc-ping.com/x}\n",
			`p.yaml:5:18: heartbeat: url: "hc-ping.com/x" is not an http or https URL (e.g. https://hc-ping.com/UUID)`},
		{"query", hbJails + "heartbeat: {url: 'https://h/p?x=1'}\n",
			`p.yaml:5:18: heartbeat: url: "https://h/p?x=1" has a query or fragment; the failure ping appends /fail to the path (e.g. https://hc-ping.com/UUID)`},
		{"method", hbJails + "heartbeat: {url: https://h/p, method: PUT}\n",
			`p.yaml:5:39: heartbeat: method: "PUT" is not an HTTP method (one of GET, POST)`},
		{"interval", hbJails + "heartbeat: {url: https://h/p, interval: 1x}\n",
			`p.yaml:5:41: heartbeat: interval: "1x" is not a duration (e.g. 10m, 1h30m, 1d)`},
		{"timeout over interval", hbJails + "heartbeat:\n  url: https://h/p\n  interval: 10s\n  timeout: 1m\n",
			`p.yaml:8:12: heartbeat: timeout: 1m is longer than the interval 10s: pings would overlap`},
		{"unknown key", hbJails + "heartbeat: {url: https://h/p, intervall: 1m}\n",
			`p.yaml:5:31: heartbeat: intervall: unknown key (did you mean interval? known keys: url, interval, timeout, method, quiet)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml), LoadOptions{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}
