// Package heartbeat is the dead-man switch: it pings a monitor's URL at an
// interval while the daemon is healthy, so that silence means trouble.
//
// The protocol is healthchecks.io's, which most uptime monitors accept: a
// request to URL means "alive and well", a request to URL + "/fail" means
// "alive but failing". A daemon that is wedged, killed or cut off sends
// nothing, and the monitor alerts on the missed ping; one that knows it is
// unhealthy (a source stopped, the firewall refuses bans) says so at once.
package heartbeat

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Pinger.
type Options struct {
	URL      string // without a trailing slash; "/fail" is appended on failure
	Interval time.Duration
	Timeout  time.Duration // of one request
	Method   string        // GET or POST; POST sends the health as the body
	// Healthy says whether the daemon is healthy: nil, or why not.
	Healthy func() error
	// Client sends the requests; nil means a client of its own.
	Client *http.Client
	Logger *slog.Logger
	// Metrics receives the outcome of every ping; nil counts nothing.
	Metrics *Metrics
	// UserAgent names the sender (e.g. "peerjail/0.5.0").
	UserAgent string
}

// Pinger pings until Stop.
type Pinger struct {
	o      Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// failing is set while requests fail, and sick while the daemon is
	// unhealthy, so that each is logged when it starts and ends, not
	// every interval.
	failing, sick bool
}

// Start sends the first ping at once, then one every Interval, from a
// goroutine that Stop waits for.
func Start(o Options) *Pinger {
	if o.Client == nil {
		// A transport of its own, whose kept-alive connection Stop closes:
		// the shared default's would outlive the pinger.
		o.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Timeout <= 0 || o.Timeout > o.Interval {
		o.Timeout = o.Interval
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pinger{o: o, cancel: cancel}
	p.o.Metrics.setInterval(o.Interval)
	p.wg.Go(func() { p.loop(ctx) })
	return p
}

// Stop ends the pinging and waits for a request in flight. A stopped
// daemon sends no last ping: its silence is what the monitor must see.
func (p *Pinger) Stop() {
	p.cancel()
	p.wg.Wait()
	p.o.Client.CloseIdleConnections()
}

func (p *Pinger) loop(ctx context.Context) {
	t := time.NewTicker(p.o.Interval)
	defer t.Stop()
	for {
		p.ping(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ping asks the daemon how it is and tells the monitor.
func (p *Pinger) ping(ctx context.Context) {
	why := p.o.Healthy()
	url, body := p.o.URL, "ok"
	if why != nil {
		url, body = p.o.URL+"/fail", why.Error()
	}
	err := p.send(ctx, url, body)
	if ctx.Err() != nil {
		return // stopping: not the monitor's failure
	}
	p.o.Metrics.record(why == nil, err == nil, time.Now())
	switch {
	case err != nil && !p.failing:
		p.failing = true
		p.o.Logger.Warn("heartbeat ping failed; the monitor will report this daemon down", "url", url, "err", err)
	case err != nil:
		p.o.Logger.Debug("heartbeat ping failed", "url", url, "err", err)
	case p.failing:
		p.failing = false
		p.o.Logger.Info("heartbeat pings reach the monitor again", "url", url)
	}
	switch {
	case why != nil && !p.sick:
		p.sick = true
		p.o.Logger.Warn("unhealthy: the heartbeat sends the failure ping until it is healthy again", "why", why.Error())
	case why != nil:
		p.o.Logger.Debug("still unhealthy", "why", why.Error())
	case p.sick:
		p.sick = false
		p.o.Logger.Info("healthy again: the heartbeat sends the healthy ping")
	}
}

func (p *Pinger) send(ctx context.Context, url, body string) error {
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	var rd io.Reader
	if p.o.Method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, p.o.Method, url, rd)
	if err != nil {
		return fmt.Errorf("heartbeat request: %w", err)
	}
	if p.o.UserAgent != "" {
		req.Header.Set("User-Agent", p.o.UserAgent)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	resp, err := p.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read a little so that the connection can be reused; the answer
	// itself says nothing the status does not.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", p.o.Method, url, resp.Status)
	}
	return nil
}
