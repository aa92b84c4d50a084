package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/firewall"
)

type hbPing struct{ path, body string }

// monitor is a heartbeat monitor at url that keeps the pings it gets, up
// to 100 unread, for next; it stops when the test ends.
type monitor struct {
	url   string
	pings chan hbPing
}

func newMonitor(t *testing.T) *monitor {
	m := &monitor{pings: make(chan hbPing, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case m.pings <- hbPing{r.URL.Path, string(b)}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// next is the next ping; it fails t when none comes within 10s.
func (m *monitor) next(t *testing.T, what string) hbPing {
	t.Helper()
	select {
	case p := <-m.pings:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("no ping within 10s, waiting for %s", what)
		return hbPing{}
	}
}

// TestHeartbeatFollowsHealth: a daemon whose jail reads nothing for longer
// than quiet sends the failure ping, not the healthy one, until a line
// arrives; a reload that removes heartbeat: stops the pings.
func TestHeartbeatFollowsHealth(t *testing.T) {
	mon := newMonitor(t)
	dir := t.TempDir()
	log := dir + "/auth.log"
	cfg := fmt.Sprintf(sshConfig, log) + fmt.Sprintf("heartbeat: {url: %s/hb, interval: 1s, method: POST, quiet: 2s}\n", mon.url)
	if err := os.WriteFile(dir+"/peerjail.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	td := newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) { o.Registry = reg })

	if p := mon.next(t, "the first"); p.path != "/hb" || p.body != "ok" {
		t.Fatalf("first ping %+v, want the healthy /hb", p)
	}
	var fail hbPing
	for fail.path != "/hb/fail" {
		fail = mon.next(t, "the failure ping of a quiet jail")
	}
	if !strings.Contains(fail.body, `jail "ssh": no line read for`) {
		t.Errorf("failure ping says %q, want why", fail.body)
	}
	td.appendLines(t, failed("198.51.100.7", 1)...)
	for p := mon.next(t, "a healthy ping after a line"); p.path != "/hb"; p = mon.next(t, "a healthy ping after a line") {
	}
	if v := mustMetricValue(t, reg, "peerjail_heartbeat_interval_seconds"); v != 1 {
		t.Errorf("interval %v, want 1", v)
	}
	if v := mustMetricValue(t, reg, "peerjail_heartbeat_last_success_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success %v, want a recent time", v)
	}

	if err := os.WriteFile(dir+"/peerjail.yaml", []byte(fmt.Sprintf(sshConfig, log)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := td.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := mustMetricValue(t, reg, "peerjail_heartbeat_interval_seconds"); v != 0 {
		t.Errorf("interval %v after heartbeat: was removed, want 0", v)
	}
}

// refusing is a fake kernel that refuses every apply while refuse is set.
type refusing struct {
	*firewall.Fake
	refuse atomic.Bool
}

func (r *refusing) Apply(ctx context.Context, cs []firewall.Change) error {
	if r.refuse.Load() {
		return errors.New("netlink: operation not permitted")
	}
	return r.Fake.Apply(ctx, cs)
}

// TestHeartbeatFailsWhileBansAreNotEnforced: a ban the kernel refuses
// makes the daemon unhealthy (the /fail ping says why) until it is in
// force.
func TestHeartbeatFailsWhileBansAreNotEnforced(t *testing.T) {
	mon := newMonitor(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(sshConfig, dir+"/auth.log") + fmt.Sprintf("heartbeat: {url: %s/hb, interval: 1s, method: POST}\n", mon.url)
	if err := os.WriteFile(dir+"/peerjail.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	fw := &refusing{Fake: firewall.NewFake()}
	td := newTestDaemonWith(t, dir, fw.Fake, func(o *Options) {
		o.NewFirewall = func() (firewall.Firewall, error) { return fw, nil }
	})
	if p := mon.next(t, "the first"); p.path != "/hb" {
		t.Fatalf("first ping %+v, want /hb", p)
	}
	fw.refuse.Store(true)
	td.appendLines(t, failed("198.51.100.7", 3)...)
	var fail hbPing
	for fail.path != "/hb/fail" {
		fail = mon.next(t, "the failure ping of a refused ban")
	}
	for _, want := range []string{`jail "ssh": 1 ban not enforced`, "nftables apply is failing"} {
		if !strings.Contains(fail.body, want) {
			t.Errorf("failure ping says %q, want %q", fail.body, want)
		}
	}
	fw.refuse.Store(false)
	for p := mon.next(t, "a healthy ping once the ban is in force"); p.path != "/hb"; p = mon.next(t, "a healthy ping once the ban is in force") {
	}
	if !inFirewall(fw.Fake, "ssh", "198.51.100.7/32") {
		t.Error("healthy again, but the ban is not in the firewall")
	}
}
