package heartbeat

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

// monitor is a healthchecks.io stand-in served in memory, so that the
// pings' times are the bubble's clock.
type monitor struct {
	mu     sync.Mutex
	status int // answered; 0 means 200
	pings  []ping
}

type ping struct {
	at           time.Duration // since the bubble's start
	method, path string
	body, agent  string
}

func (m *monitor) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(io.LimitReader(bodyOf(r), 4<<10))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pings = append(m.pings, ping{time.Since(epoch), r.Method, r.URL.Path, string(b), r.UserAgent()})
	rec := httptest.NewRecorder()
	if m.status != 0 {
		rec.WriteHeader(m.status)
	}
	_, _ = io.WriteString(rec, "OK")
	return rec.Result(), nil
}

func bodyOf(r *http.Request) io.Reader {
	if r.Body == nil {
		return http.NoBody
	}
	return r.Body
}

func (m *monitor) seen() []ping {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.pings)
}

// synctest's bubble starts at midnight UTC 2000-01-01.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func paths(ps []ping) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.at.String()+" "+p.path)
	}
	return out
}

func TestPingsAtIntervalWhileHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mon := &monitor{}
		reg := prometheus.NewRegistry()
		m := NewMetrics(reg)
		p := Start(Options{URL: "https://hc.example/abc", Interval: time.Minute, Timeout: 10 * time.Second,
			Healthy: func() error { return nil }, Client: &http.Client{Transport: mon}, Metrics: m, UserAgent: "peerjail/test"})
		time.Sleep(3*time.Minute + time.Second)
		p.Stop()
		want := []string{"0s /abc", "1m0s /abc", "2m0s /abc", "3m0s /abc"}
		if got := paths(mon.seen()); !slices.Equal(got, want) {
			t.Errorf("pings %q, want %q", got, want)
		}
		if got := mon.seen()[0]; got.method != "GET" || got.agent != "peerjail/test" {
			t.Errorf("ping %s with user agent %q, want GET with peerjail/test", got.method, got.agent)
		}
		last := epoch.Add(3 * time.Minute)
		if got := testutil.ToFloat64(m.lastSuccess); got != float64(last.Unix()) {
			t.Errorf("last success %v, want %v", got, float64(last.Unix()))
		}
		if got := testutil.ToFloat64(m.interval); got != 60 {
			t.Errorf("interval %v, want 60", got)
		}
		if got := testutil.ToFloat64(m.pings.WithLabelValues("ok")); got != 4 {
			t.Errorf("ok pings %v, want 4", got)
		}
		// Stopped: silence, which is what the monitor must see.
		time.Sleep(5 * time.Minute)
		if n := len(mon.seen()); n != 4 {
			t.Errorf("%d pings after Stop, want the 4 before it", n)
		}
	})
}

func TestUnhealthyStopsPinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mon := &monitor{}
		var sick atomic.Bool
		m := NewMetrics(prometheus.NewRegistry())
		p := Start(Options{URL: "http://127.0.0.1:1/hb", Interval: time.Minute, Method: "POST",
			Healthy: func() error {
				if sick.Load() {
					return errors.New(`jail "ssh" read nothing for 2h`)
				}
				return nil
			}, Client: &http.Client{Transport: mon}, Metrics: m})
		defer p.Stop()
		time.Sleep(time.Second)
		sick.Store(true)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		before := testutil.ToFloat64(m.lastSuccess)
		sick.Store(false)
		time.Sleep(time.Minute)
		synctest.Wait()

		want := []string{"0s /hb", "1m0s /hb/fail", "2m0s /hb/fail", "3m0s /hb"}
		got := mon.seen()
		if !slices.Equal(paths(got), want) {
			t.Fatalf("pings %q, want %q", paths(got), want)
		}
		if got[0].body != "ok" || got[1].body != `jail "ssh" read nothing for 2h` || got[1].method != "POST" {
			t.Errorf("POST bodies %q, %q (%s); want ok, then why it is unhealthy", got[0].body, got[1].body, got[1].method)
		}
		// A /fail ping accepted by the monitor is no success.
		if before != float64(epoch.Unix()) {
			t.Errorf("last success while unhealthy %v, want the first ping's %v", before, float64(epoch.Unix()))
		}
		if got := testutil.ToFloat64(m.pings.WithLabelValues("fail")); got != 2 {
			t.Errorf("fail pings %v, want 2", got)
		}
		if got := testutil.ToFloat64(m.failures); got != 0 {
			t.Errorf("failures %v, want 0: the monitor accepted every ping", got)
		}
	})
}

func TestServerErrorsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mon := &monitor{status: http.StatusServiceUnavailable}
		m := NewMetrics(prometheus.NewRegistry())
		p := Start(Options{URL: "https://hc.example/x", Interval: 30 * time.Second,
			Healthy: func() error { return nil }, Client: &http.Client{Transport: mon}, Metrics: m})
		defer p.Stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := testutil.ToFloat64(m.failures); got != 3 {
			t.Errorf("failures %v, want 3 (pings at 0s, 30s, 1m, each answered 503)", got)
		}
		if got := testutil.ToFloat64(m.lastSuccess); got != 0 {
			t.Errorf("last success %v, want 0: the monitor accepted none", got)
		}
		mon.mu.Lock()
		mon.status = 0
		mon.mu.Unlock()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := testutil.ToFloat64(m.lastSuccess); got != float64(epoch.Add(90*time.Second).Unix()) {
			t.Errorf("last success %v after the monitor recovered, want %v", got, float64(epoch.Add(90*time.Second).Unix()))
		}
	})
}

// hang never answers until the request's context ends.
type hang struct{ calls atomic.Int32 }

func (h *hang) RoundTrip(r *http.Request) (*http.Response, error) {
	h.calls.Add(1)
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func TestTimeoutAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hang{}
		m := NewMetrics(prometheus.NewRegistry())
		p := Start(Options{URL: "https://hc.example/x", Interval: time.Minute, Timeout: 10 * time.Second,
			Healthy: func() error { return nil }, Client: &http.Client{Transport: h}, Metrics: m})
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if got := testutil.ToFloat64(m.failures); got != 1 {
			t.Errorf("failures %v after a ping hung past its timeout, want 1", got)
		}
		time.Sleep(50 * time.Second) // the next ping hangs too
		synctest.Wait()
		p.Stop() // returns although a request is in flight
		if got := testutil.ToFloat64(m.failures); got != 1 {
			t.Errorf("failures %v, want 1: a ping cut short by Stop is not the monitor's failure", got)
		}
		if n := h.calls.Load(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

// TestRealServer sends over a real loopback connection what the in-memory
// monitor saw, and Stop closes the connection its client kept alive.
func TestRealServer(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r:
		default:
		}
	}))
	defer srv.Close()
	before := goleak.IgnoreCurrent()
	m := NewMetrics(prometheus.NewRegistry())
	p := Start(Options{URL: srv.URL + "/uuid", Interval: time.Hour, Metrics: m, Healthy: func() error { return nil }})
	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping within 10s")
	}
	// The answer is on its way back; the ping is done once recorded.
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(m.lastSuccess) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the accepted ping was not recorded within 10s")
		}
	}
	p.Stop()
	// Nothing of the pinger's is left, not even the connection it kept
	// alive for the next ping (nor the server's side of it).
	goleak.VerifyNone(t, before)
	if r.Method != "GET" || r.URL.Path != "/uuid" {
		t.Errorf("got %s %s, want GET /uuid", r.Method, r.URL.Path)
	}
	if testutil.ToFloat64(m.failures) != 0 {
		t.Errorf("failures %v, want none", testutil.ToFloat64(m.failures))
	}
}
