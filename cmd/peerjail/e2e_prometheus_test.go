//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
)

// TestE2EPrometheusDashboard runs a real Prometheus (Debian's package)
// scraping a real daemon, both inside the test's namespace, the daemon fed
// a real sshd corpus and a flood of failed logins, banning in the kernel
// and pinging a heartbeat receiver. Then every query of the Grafana
// dashboard, with its variables as Grafana substitutes them (All, and one
// instance and jail), must return data that is a number; the variables'
// own queries must list the instance and the jail; every rule of
// configs/prometheus must load and evaluate without error; and every series
// the rules name must be exported.
func TestE2EPrometheusDashboard(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("needs prometheus (apt-get install prometheus) to check the dashboard's queries")
	}
	n := newNode(t, "ssh.yaml")
	pings := make(chan string, 1000)
	hb := n.serveHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case pings <- r.URL.Path:
		default:
		}
	}))
	appendFile(t, n.cfg, fmt.Sprintf("heartbeat: {url: %s/hb, interval: 1s}\n", hb))
	metrics := n.freeAddr()
	started := time.Now()
	d := n.start("--metrics", metrics)
	api := n.startPrometheus(prom, metrics)
	// Lines only once Prometheus has scraped the daemon: the bans' applies
	// must fall between two scrapes for the latency quantiles to have a rate.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if s, err := api.query(`up{job="peerjail"}`); err == nil && len(s) == 1 && s[0].value == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus did not scrape the daemon within 30s")
		}
	}

	corpus, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", "openssh", "9.x", "syslog-message", "journal-short-iso.log"))
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, n.log, string(corpus))
	fl := n.newFlood(2)
	fl.write(t, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4, 4, 5, 5)
	n.waitStatus(20*time.Second, "hosts 0, 1, 2 and 4 banned", func(st control.JailStatus) bool {
		b := bannedHosts(st)
		return b[hostName(0)].Host != "" && b[hostName(1)].Host != "" && b[hostName(2)].Host != "" && b[hostName(4)].Host != ""
	})
	if code, _, errOut := n.cli("unban", "ssh", hostName(1), "--socket", n.sock); code != 0 {
		t.Fatalf("unban: exit %d: %s", code, errOut)
	}
	select {
	case p := <-pings:
		if p != "/hb" {
			t.Errorf("heartbeat pinged %s, want /hb from a healthy daemon", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat ping within 10s")
	}

	dash := readDashboard(t)
	st := n.mustStatus()
	escaped := strings.ReplaceAll(regexp.QuoteMeta(metrics), `\`, `\\`) // as Grafana writes a value into =~"..."
	choices := []map[string]string{
		{"instance": ".*", "jail": ".*"},
		{"instance": escaped, "jail": "ssh"},
	}
	var queries []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, vars := range choices {
				queries = append(queries, substitute(tg.Expr, vars))
			}
		}
	}
	// Prometheus needs a few scrapes before every rate has two samples and
	// the top offenders' walk (every 15s) has seen host 5: poll until every
	// query answers a number, or tell which do not.
	enforced := strconv.Itoa(len(st.Banned) - pendingBans(st))
	checks := map[string]func([]sample) bool{
		`sum(peerjail_banned{jail="ssh"})`: func(s []sample) bool { return len(s) == 1 && s[0].text == enforced },
		fmt.Sprintf(`peerjail_top_offender_hits{jail="ssh", host=%q}`, hostName(5)): func(s []sample) bool {
			return len(s) == 1 && s[0].text == "2"
		},
		`peerjail_decisions_total{jail="ssh", action="unban"}`: func(s []sample) bool { return len(s) == 1 && s[0].value >= 1 },
		// Panels of the form time() - T have data even for T = 0.
		`peerjail_heartbeat_last_success_timestamp_seconds`: func(s []sample) bool {
			return len(s) == 1 && s[0].value >= float64(started.Unix())
		},
		`peerjail_last_line_timestamp_seconds{jail="ssh"}`: func(s []sample) bool {
			return len(s) == 1 && s[0].value >= float64(started.Unix())
		},
	}
	var missing []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		missing = missing[:0]
		for _, q := range queries {
			if s, err := api.query(q); err != nil || !anyNumber(s) {
				missing = append(missing, fmt.Sprintf("%s: %v %v", q, s, err))
			}
		}
		for q, ok := range checks {
			if s, err := api.query(q); err != nil || !ok(s) {
				missing = append(missing, fmt.Sprintf("%s: %v %v", q, s, err))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("no data: %s", m)
	}
	t.Logf("%d panels, %d queries (%d with each of %d variable choices) returned data", len(dash.Panels), len(queries), len(queries)/len(choices), len(choices))

	for _, v := range [][2]string{{"instance", metrics}, {"jail", "ssh"}} {
		vals, err := api.labelValues(v[0], "peerjail_lines_total")
		if err != nil || !slices.Contains(vals, v[1]) {
			t.Errorf("variable %s: label values %v (%v), want %s among them", v[0], vals, err, v[1])
		}
	}
	api.checkRules(t)
	d.checkLog()
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func pendingBans(st control.JailStatus) int {
	n := 0
	for _, b := range st.Banned {
		if b.Enforcement == control.Pending {
			n++
		}
	}
	return n
}

// freeAddr is a loopback address of the namespace with a port nobody uses.
func (n *e2eNode) freeAddr() string {
	n.t.Helper()
	var addr string
	if err := n.ns.Run(func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addr = l.Addr().String()
		return l.Close()
	}); err != nil {
		n.t.Fatal(err)
	}
	return addr
}

// serveHTTP serves h on the namespace's loopback until the test ends and
// returns its base URL.
func (n *e2eNode) serveHTTP(h http.Handler) string {
	n.t.Helper()
	var l net.Listener
	if err := n.ns.Run(func() (err error) {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		n.t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	n.t.Cleanup(func() { _ = srv.Close(); <-done })
	return "http://" + l.Addr().String()
}

type dashTarget struct{ Expr string }

type dashPanel struct {
	Title   string
	Targets []dashTarget
}

func readDashboard(t *testing.T) struct{ Panels []dashPanel } {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "grafana", "peerjail.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Panels []dashPanel }
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// substitute writes the dashboard's variables into expr as Grafana does.
// $__rate_interval is 1m in Grafana for a data source scraped every 15s
// (its default) over the dashboard's 6h; 2m here, so that the bans' applies,
// made once at the start, stay in the window on a loaded machine.
func substitute(expr string, vars map[string]string) string {
	r := []string{"$__rate_interval", "2m"}
	for k, v := range vars {
		r = append(r, "${"+k+"}", v, "$"+k, v)
	}
	return strings.NewReplacer(r...).Replace(expr)
}
