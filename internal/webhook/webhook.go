// Package webhook is the webhook action: each decision POSTed to a URL as a
// JSON Document, or as the text a template renders from it (a Slack or
// Discord message). It makes one attempt per decision; the daemon's action
// runner retries and queues.
package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"text/template"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// DefaultTimeout bounds one request when the spec gives no timeout.
const DefaultTimeout = 10 * time.Second

// bodyExcerpt is how much of a refusal's body an error quotes.
const bodyExcerpt = 200

// Options are what New finds for itself and tests (or the daemon) may set.
type Options struct {
	// Host is the reporter's name in the Document; os.Hostname by default.
	Host string
	// Version is peerjail's version in the Document; the daemon's
	// (action.Env.Version) by default, else the module's build version,
	// none for a development build.
	Version string
	// Client sends the requests; one with a cloned default transport by
	// default.
	Client *http.Client
}

// Webhook is the webhook backend.
type Webhook struct {
	name    string // the URL without its path, which may hold a secret token
	url     string
	headers http.Header
	tmpl    *template.Template // nil: the JSON Document
	timeout time.Duration
	host    string
	version string
	client  *http.Client
	log     *slog.Logger
}

var _ action.Action = (*Webhook)(nil)

// New builds a webhook action; it matches action.Constructor.
func New(spec config.ActionSpec, env action.Env) (action.Action, error) {
	return NewWithOptions(spec, env, Options{})
}

// NewWithOptions is New with the reporter's name, version or HTTP client set.
func NewWithOptions(spec config.ActionSpec, env action.Env, o Options) (*Webhook, error) {
	u, err := url.Parse(spec.URL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("webhook: url %q: want http(s)://HOST/PATH (e.g. https://hooks.slack.com/services/…)", redact(spec.URL))
	}
	w := &Webhook{
		name:    "webhook " + u.Scheme + "://" + u.Host,
		url:     spec.URL,
		headers: http.Header{"Content-Type": {"application/json"}},
		timeout: spec.Timeout,
		host:    o.Host,
		version: cmp.Or(o.Version, env.Version),
		client:  o.Client,
		log:     env.Logger,
	}
	if w.timeout <= 0 {
		w.timeout = DefaultTimeout
	}
	for k, v := range spec.Headers {
		if !validHeader(k, v) {
			return nil, fmt.Errorf("webhook: header %q: a name is letters, digits and -, a value has no line breaks", k)
		}
		w.headers.Set(k, v)
	}
	if spec.Template != "" {
		if w.tmpl, err = template.New("webhook").Funcs(funcs).Option("missingkey=error").Parse(spec.Template); err != nil {
			return nil, fmt.Errorf("webhook: template: %w", err)
		}
	}
	w.fillDefaults()
	return w, nil
}

func (w *Webhook) fillDefaults() {
	if w.host == "" {
		w.host, _ = os.Hostname()
	}
	if w.version == "" {
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "(devel)" {
			w.version = strings.TrimPrefix(info.Main.Version, "v")
		}
	}
	if w.client == nil {
		w.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	ua := "peerjail"
	if w.version != "" {
		ua += "/" + w.version
	}
	if w.headers.Get("User-Agent") == "" {
		w.headers.Set("User-Agent", ua)
	}
}

func validHeader(k, v string) bool {
	if k == "" || strings.ContainsAny(v, "\r\n\x00") {
		return false
	}
	for _, r := range k {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// redact drops a URL's path and query, where webhook services put the
// token that lets anyone post.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Name is "webhook SCHEME://HOST": the path, often a secret, is left out.
func (w *Webhook) Name() string { return w.name }

// Takes every key.
func (w *Webhook) Takes(k jail.Key) bool { return k.IsValid() }

// Held is ErrNotListable: a webhook keeps nothing it could read back.
func (w *Webhook) Held(context.Context) ([]action.Held, error) { return nil, action.ErrNotListable }

// Close drops idle connections.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// Apply POSTs one request per decision, in order, each bounded by the
// timeout.
func (w *Webhook) Apply(ctx context.Context, ds []jail.Decision) error {
	errs := make([]error, len(ds))
	for i, d := range ds {
		if err := w.post(ctx, d); err != nil {
			errs[i] = fmt.Errorf("%s %s %s: %w", w.name, d.Action, d.Key, err)
		}
	}
	return action.Result(errs)
}

// Body is what Apply sends for d: the Document as JSON, or the template
// rendered over it.
func (w *Webhook) Body(d jail.Decision) ([]byte, error) {
	doc := NewDocument(d, w.host, w.version)
	var b bytes.Buffer
	if w.tmpl == nil {
		err := jsonEncode(&b, doc)
		return b.Bytes(), err
	}
	if err := w.tmpl.Execute(&b, doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return b.Bytes(), nil
}

func (w *Webhook) post(ctx context.Context, d jail.Decision) error {
	body, err := w.Body(d)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad request URL") // the URL may hold a token: not in errors
	}
	req.Header = w.headers.Clone()
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the whole URL
		}
		return fmt.Errorf("POST: %w", err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, bodyExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST: %s: %q", resp.Status, excerpt)
	}
	return nil
}
