package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/golden"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/webhook"
)

// request is what the test receiver got.
type request struct {
	method string
	header http.Header
	body   []byte
}

// receiver is a local webhook endpoint answering status with reply.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	status int
	reply  string
}

func newReceiver(t *testing.T, status int, reply string) *receiver {
	t.Helper()
	r := &receiver{status: status, reply: reply}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.Method, req.Header.Clone(), b})
		r.mu.Unlock()
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.reply)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

func newWebhook(t *testing.T, spec config.ActionSpec) *webhook.Webhook {
	t.Helper()
	spec.Type = config.ActionWebhook
	w, err := webhook.NewWithOptions(spec, action.Env{Jail: "ssh"}, webhook.Options{Host: "node-1.example.org", Version: "0.9.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

var at = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func banDecision() jail.Decision {
	return jail.Decision{
		Action: jail.ActionBan, Jail: "ssh", Key: jail.Key{Prefix: netip.MustParsePrefix("203.0.113.7/32")},
		At: at, Until: at.Add(24 * time.Hour), Duration: 24 * time.Hour, Hits: 5, Offences: 2,
		Evidence: []string{
			`Dec  1 11:59:58 node-1 sshd[812]: Invalid user "admin" from 203.0.113.7 port 50022`,
			`Dec  1 12:00:00 node-1 sshd[812]: Invalid user <!channel> @everyone \ & from 203.0.113.7 port 50023`,
		},
	}
}

func identityBan() jail.Decision {
	d := banDecision()
	d.Jail = "flow-byzantine"
	d.Key = jail.Key{ID: "16Uiu2HAmQ2cRoXRHgQDa5w1yL6TzsTgRGZ4VMugUAJw8Tmcg3cK"}
	d.Addrs = []netip.Prefix{netip.MustParsePrefix("198.51.100.4/32"), netip.MustParsePrefix("2001:db8:1:2::/64")}
	d.Evidence = []string{`{"level":"warn","suspicious":true,"peer_id":"16Uiu2HAmQ2cRoXRHgQDa5w1yL6TzsTgRGZ4VMugUAJw8Tmcg3cK"}`}
	return d
}

func unbanDecision() jail.Decision {
	return jail.Decision{Action: jail.ActionUnban, Jail: "ssh", Key: jail.Key{Prefix: netip.MustParsePrefix("2001:db8::/64")}, At: at.Add(24 * time.Hour)}
}

// The Document's JSON is the webhook's contract: golden files fix it.
func TestBodyGolden(t *testing.T) {
	r := newReceiver(t, 204, "")
	w := newWebhook(t, config.ActionSpec{URL: r.srv.URL + "/hook/secret-token"})
	manual := jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: jail.Key{Prefix: netip.MustParsePrefix("192.0.2.0/24")},
		At: at, Until: at.Add(time.Hour), Duration: time.Hour, Offences: 1} // by hand: no hits, no evidence
	ds := []jail.Decision{banDecision(), identityBan(), manual, unbanDecision()}
	if err := w.Apply(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	got := r.requests()
	if len(got) != len(ds) {
		t.Fatalf("%d requests, want %d", len(got), len(ds))
	}
	var all strings.Builder
	for _, req := range got {
		if req.method != http.MethodPost || req.header.Get("Content-Type") != "application/json" ||
			req.header.Get("User-Agent") != "peerjail/0.9.0" {
			t.Errorf("request %s with Content-Type %q, User-Agent %q", req.method, req.header.Get("Content-Type"), req.header.Get("User-Agent"))
		}
		var doc map[string]any
		if err := json.Unmarshal(req.body, &doc); err != nil {
			t.Errorf("body is not JSON: %v\n%s", err, req.body)
		}
		all.Write(req.body)
	}
	golden.CheckString(t, "testdata/documents.jsonl", all.String())
}

// The examples' templates turn hostile evidence into valid JSON whose text
// cannot mention or link (Slack) or ping (Discord).
func TestExampleTemplates(t *testing.T) {
	cases := []struct{ file, field string }{
		{"webhook-slack.yaml", "text"},
		{"webhook-discord.yaml", "content"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r := newReceiver(t, 200, "ok")
			w := newWebhook(t, config.ActionSpec{URL: r.srv.URL, Template: exampleTemplate(t, "../../configs/examples/"+c.file)})
			if err := w.Apply(t.Context(), []jail.Decision{banDecision(), unbanDecision()}); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			for _, req := range r.requests() {
				var msg map[string]any
				if err := json.Unmarshal(req.body, &msg); err != nil {
					t.Fatalf("body is not JSON: %v\n%s", err, req.body)
				}
				text, _ := msg[c.field].(string)
				if text == "" {
					t.Errorf("no %q in %s", c.field, req.body)
				}
				if strings.Contains(text, "<!channel>") {
					t.Errorf("%q still holds a Slack mention", text)
				}
				if c.field == "content" && !strings.Contains(string(req.body), `"allowed_mentions": {"parse": []}`) {
					t.Errorf("Discord body without allowed_mentions: %s", req.body)
				}
				out.Write(req.body)
				out.WriteString("\n")
			}
			golden.CheckString(t, "testdata/"+strings.TrimSuffix(c.file, ".yaml")+".golden", out.String())
		})
	}
}

// exampleTemplate is the template of the first webhook action in an example
// config.
func exampleTemplate(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Jails map[string]struct {
			Actions []map[string]any `yaml:"actions"`
		} `yaml:"jails"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, j := range cfg.Jails {
		for _, a := range j.Actions {
			if a["type"] == "webhook" {
				return a["template"].(string)
			}
		}
	}
	t.Fatalf("%s has no webhook action", path)
	return ""
}

func TestTemplateFuncs(t *testing.T) {
	r := newReceiver(t, 200, "")
	tmpl := `{"k": {{json .Key}}, "e": {{json .Evidence}}, "a": {{json (join .Addrs ",")}}, "n": {{.DurationSeconds}}, "t": {{truncate 5 "abcdefgh" | json}}}`
	w := newWebhook(t, config.ActionSpec{URL: r.srv.URL, Template: tmpl})
	if err := w.Apply(t.Context(), []jail.Decision{identityBan()}); err != nil {
		t.Fatal(err)
	}
	body := r.requests()[0].body
	var got struct {
		K string
		E []string
		A string
		N int
		T string
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.K != identityBan().Key.ID || len(got.E) != 1 || got.A != "198.51.100.4,2001:db8:1:2::/64" || got.N != 86400 || got.T != "abcd…" {
		t.Errorf("rendered %s", body)
	}
}

func TestHeaders(t *testing.T) {
	r := newReceiver(t, 200, "")
	w := newWebhook(t, config.ActionSpec{URL: r.srv.URL, Headers: map[string]string{
		"Authorization": "Bearer s3cret", "Content-Type": "text/plain", "X-Peerjail-Node": "node-1",
	}, Template: "{{.Action}} {{.Key}}"})
	if err := w.Apply(t.Context(), []jail.Decision{banDecision()}); err != nil {
		t.Fatal(err)
	}
	req := r.requests()[0]
	for k, want := range map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "text/plain", "X-Peerjail-Node": "node-1"} {
		if got := req.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if string(req.body) != "ban 203.0.113.7" {
		t.Errorf("body = %q", req.body)
	}
}

// The daemon hands its version through action.Env: New puts it in the
// Document and the User-Agent without the reporter's build info.
func TestVersionFromEnv(t *testing.T) {
	r := newReceiver(t, 200, "")
	a, err := webhook.New(config.ActionSpec{Type: config.ActionWebhook, URL: r.srv.URL}, action.Env{Jail: "ssh", Version: "1.2.3-4-gabcdef0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Apply(t.Context(), []jail.Decision{banDecision()}); err != nil {
		t.Fatal(err)
	}
	req := r.requests()[0]
	var doc webhook.Document
	if err := json.Unmarshal(req.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.PeerjailVersion != "1.2.3-4-gabcdef0" || req.header.Get("User-Agent") != "peerjail/1.2.3-4-gabcdef0" {
		t.Errorf("peerjail_version %q, User-Agent %q; want the Env's version in both", doc.PeerjailVersion, req.header.Get("User-Agent"))
	}
}

func TestNon2xx(t *testing.T) {
	r := newReceiver(t, 403, "invalid_token "+strings.Repeat("x", 500))
	w := newWebhook(t, config.ActionSpec{URL: r.srv.URL + "/services/T0/B0/secret"})
	err := w.Apply(t.Context(), []jail.Decision{banDecision()})
	if err == nil {
		t.Fatal("a 403 was taken as delivered")
	}
	msg := err.Error()
	if !strings.Contains(msg, "403 Forbidden") || !strings.Contains(msg, "invalid_token") {
		t.Errorf("error %q lacks the status or the body", msg)
	}
	if strings.Count(msg, "x") > 200 {
		t.Errorf("error quotes more than 200 bytes of the body: %q", msg)
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("error %q shows the URL's secret path", msg)
	}
}

// Of several decisions, the one the receiver refuses is named by *Failed.
func TestPartialFailure(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		if n == 2 {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(srv.Close)
	w := newWebhook(t, config.ActionSpec{URL: srv.URL})
	err := w.Apply(t.Context(), []jail.Decision{banDecision(), identityBan(), unbanDecision()})
	var f *action.Failed
	if !errors.As(err, &f) || len(f.Index) != 1 || f.Index[0] != 1 {
		t.Fatalf("Apply = %v, want *action.Failed naming decision 1", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	w := newWebhook(t, config.ActionSpec{URL: srv.URL + "/secret", Timeout: 50 * time.Millisecond})
	err := w.Apply(t.Context(), []jail.Decision{banDecision()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Apply = %v, want a deadline error", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the URL's path", err)
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		spec config.ActionSpec
		want string
	}{
		{config.ActionSpec{URL: "hooks.slack.com/services/x"}, "want http(s)://"},
		{config.ActionSpec{URL: "https://example.org", Template: "{{.Nope"}, "template"},
		{config.ActionSpec{URL: "https://example.org", Headers: map[string]string{"X-A": "a\r\nInjected: 1"}}, "header"},
		{config.ActionSpec{URL: "https://example.org", Headers: map[string]string{"Bad Name": "a"}}, "header"},
	}
	for _, c := range cases {
		_, err := webhook.New(c.spec, action.Env{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error mentioning %q", c.spec, err, c.want)
		}
	}
	w, err := webhook.New(config.ActionSpec{URL: "https://hooks.slack.com/services/T0/B0/secret"}, action.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name() != "webhook https://hooks.slack.com" {
		t.Errorf("Name = %q", w.Name())
	}
	if _, err := w.Held(t.Context()); !errors.Is(err, action.ErrNotListable) {
		t.Errorf("Held = %v, want ErrNotListable", err)
	}
	if !w.Takes(jail.Key{ID: "x"}) || !w.Takes(jail.Key{Prefix: netip.MustParsePrefix("10.0.0.0/8")}) || w.Takes(jail.Key{}) {
		t.Error("Takes: want every valid key")
	}
}

// A template that fails on a decision fails that decision, not the batch.
func TestTemplateError(t *testing.T) {
	r := newReceiver(t, 200, "")
	w := newWebhook(t, config.ActionSpec{URL: r.srv.URL, Template: `{{if eq .Action "unban"}}{{index .Evidence 3}}{{end}}ok`})
	err := w.Apply(t.Context(), []jail.Decision{banDecision(), unbanDecision()})
	var f *action.Failed
	if !errors.As(err, &f) || len(f.Index) != 1 || f.Index[0] != 1 {
		t.Fatalf("Apply = %v, want decision 1 failed", err)
	}
}
