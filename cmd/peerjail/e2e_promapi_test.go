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
)

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
	// Exported per queued action (flow-admin, webhook, exec) from the
	// moment its Runner starts; this daemon's jails have only the kernel.
	// Its rule is tested on synthetic series.
	delete(names, "peerjail_action_errors_total")
	for name := range names {
		if s, err := p.query(fmt.Sprintf("count(%s)", name)); err != nil || len(s) == 0 {
			t.Errorf("the rules use %s, which the daemon does not export (%v)", name, err)
		}
	}
}

var seriesName = regexp.MustCompile(`[\w:]*peerjail_[\w:]*`)
