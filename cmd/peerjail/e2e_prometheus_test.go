//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// promAPI is a Prometheus inside the namespace, reached from it.
type promAPI struct {
	n    *e2eNode
	base string
}

// startPrometheus runs prometheus inside the namespace, scraping target
// every second as job peerjail with the repository's rules loaded, its data
// in the test's directory; it is killed when the test ends.
func (n *e2eNode) startPrometheus(bin, target string) *promAPI {
	n.t.Helper()
	rules, err := filepath.Abs(filepath.Join("..", "..", "configs", "prometheus", "peerjail.rules.yml"))
	if err != nil {
		n.t.Fatal(err)
	}
	dir := filepath.Join(n.dir, "prometheus")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		n.t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: peerjail
    static_configs: [{targets: [%q]}]
`, rules, target), 0o600); err != nil {
		n.t.Fatal(err)
	}
	listen := n.freeAddr()
	out, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		n.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("ip", "netns", "exec", n.ns.Name, bin, "--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if n.t.Failed() {
			b, _ := os.ReadFile(out.Name())
			n.t.Logf("prometheus output (last 4 KiB):\n%s", lastBytes(b, 4096))
		}
	})
	api := &promAPI{n: n, base: "http://" + listen}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := api.get("/-/ready"); err == nil {
			return api
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(out.Name())
			n.t.Fatalf("prometheus exited at start:\n%s", lastBytes(b, 4096))
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatal("prometheus not ready within 30s")
		}
	}
}

// get fetches path over a connection made inside the namespace: the only
// place its loopback exists.
func (p *promAPI) get(path string) ([]byte, error) {
	var body []byte
	err := p.n.ns.Run(func() error {
		req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
		if err != nil {
			return err
		}
		req.Close = true
		conn, err := net.DialTimeout("tcp", req.URL.Host, 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if err := req.Write(conn); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
		}
		return err
	})
	return body, err
}

type sample struct {
	labels map[string]string
	text   string
	value  float64
}

func (s sample) String() string { return fmt.Sprintf("%v=%s", s.labels, s.text) }

// query runs an instant query through the HTTP API.
func (p *promAPI) query(q string) ([]sample, error) {
	b, err := p.get("/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("answer %s (%v)", b, err)
	}
	var out []sample
	for _, x := range r.Data.Result {
		text, _ := x.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", text, err)
		}
		out = append(out, sample{x.Metric, text, v})
	}
	return out, nil
}

func anyNumber(s []sample) bool {
	return slices.ContainsFunc(s, func(x sample) bool { return !math.IsNaN(x.value) && !math.IsInf(x.value, 0) })
}

func (p *promAPI) labelValues(label, metric string) ([]string, error) {
	b, err := p.get("/api/v1/label/" + label + "/values?match[]=" + url.QueryEscape(metric))
	if err != nil {
		return nil, err
	}
	var r struct{ Data []string }
	err = json.Unmarshal(b, &r)
	return r.Data, err
}

// checkRules: every rule loaded and evaluated without error, and every
// peerjail_ series a rule names is exported by the daemon.
func (p *promAPI) checkRules(t *testing.T) {
	t.Helper()
	b, err := p.get("/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Query, Health, LastError string
					LastEvaluation                 time.Time
				}
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	rules := 0
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			rules++
			if rule.Health != "ok" || rule.LastEvaluation.IsZero() {
				t.Errorf("rule %s: health %q (%s), last evaluated %v", rule.Name, rule.Health, rule.LastError, rule.LastEvaluation)
			}
			for _, m := range seriesName.FindAllString(rule.Query, -1) {
				if !strings.Contains(m, ":") { // a recorded series
					names[m] = true
				}
			}
		}
	}
	if rules < 15 {
		t.Errorf("prometheus loaded %d rules, want the file's 15", rules)
	}
	// Exported by the actions layer once it lands; its rule is tested on
	// synthetic series.
	delete(names, "peerjail_action_errors_total")
	for name := range names {
		if s, err := p.query(fmt.Sprintf("count(%s)", name)); err != nil || len(s) == 0 {
			t.Errorf("the rules use %s, which the daemon does not export (%v)", name, err)
		}
	}
}

var seriesName = regexp.MustCompile(`[\w:]*peerjail_[\w:]*`)

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
