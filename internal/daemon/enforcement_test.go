package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// logBuf collects a logger's text output.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines hold s.
func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newTestEnforcer is an enforcer of one nftables jail "ssh" on fw, set up.
func newTestEnforcer(t *testing.T, fw *firewall.Fake) (*enforcer, *prometheus.Registry, *logBuf) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, logs := prometheus.NewRegistry(), &logBuf{}
	memo := &setupMemo{Firewall: fw}
	e := &enforcer{kernel: memo, memo: memo, st: st,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		now: time.Now, m: newMetrics(reg), jails: map[string]*jailActions{"ssh": {kernel: true}}, positions: map[string]string{}}
	if err := memo.Setup(context.Background(), []firewall.Jail{{Name: "ssh"}}); err != nil {
		t.Fatal(err)
	}
	return e, reg, logs
}

func banOf(host string, d time.Duration) jail.Decision {
	now := time.Now()
	k, err := jail.ParseKey(host, 64)
	if err != nil {
		panic(err)
	}
	return jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: k, At: now, Until: now.Add(d), Duration: d, Hits: 3, Offences: 1}
}

// enforcementOf is how status shows one ban.
func enforcementOf(e *enforcer, host string) control.Banned {
	k, _ := jail.ParseKey(host, 64)
	b := []control.Banned{{Host: host}}
	e.enforcement("ssh", b, []jail.Key{k})
	return b[0]
}

func remaining(fw *firewall.Fake, prefix string) (time.Duration, bool) {
	els, _ := fw.List(context.Background())
	for _, el := range els {
		if el.Prefix == netip.MustParsePrefix(prefix) {
			return el.Remaining, true
		}
	}
	return 0, false
}

// A kernel that refuses every apply is logged once when it starts failing
// and once when it works again, not on every retry; each failure counts.
func TestApplyFailureLoggedOncePerStateChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fw := firewall.NewFake()
		fw.SetClock(time.Now)
		e, reg, logs := newTestEnforcer(t, fw)
		ctx := context.Background()
		fw.FlushRuleset() // as `nft flush ruleset`: every apply fails now
		e.queue(banOf("198.51.100.7", time.Hour))
		for range 5 {
			if err := e.flush(ctx, false); err != nil {
				t.Fatalf("background flush returned %v; it logs instead", err)
			}
			time.Sleep(time.Second)
		}
		if n := logs.count("apply bans to nftables failed"); n != 1 {
			t.Errorf("apply failure logged %d times, want once:\n%s", n, logs)
		}
		if n := metricValue(t, reg, "peerjail_firewall_errors_total", "op", "apply"); n != 5 {
			t.Errorf("peerjail_firewall_errors_total{op=apply} = %v, want 5", n)
		}
		if enf, pend := e.counts("ssh"); enf != 0 || pend != 1 {
			t.Errorf("counts = %d enforced, %d pending; want 0, 1", enf, pend)
		}
		if b := enforcementOf(e, "198.51.100.7"); b.Enforcement != control.Pending || !strings.Contains(b.Error, "not set up") {
			t.Errorf("status of the refused ban: %+v, want pending with the kernel's error", b)
		}
		// A command is told.
		e.queue(banOf("198.51.100.8", time.Hour))
		if err := e.flush(ctx, true); err == nil {
			t.Error("a command's flush hid the apply error")
		}

		e.verify(ctx) // sets the table up again and puts the bans back
		time.Sleep(time.Second)
		if err := e.flush(ctx, false); err != nil {
			t.Fatal(err)
		}
		if n := logs.count("applying bans to nftables works again"); n != 1 {
			t.Errorf("recovery logged %d times, want once:\n%s", n, logs)
		}
		if n := logs.count("apply bans to nftables failed"); n != 1 {
			t.Errorf("apply failure logged %d times in all, want once:\n%s", n, logs)
		}
		for _, h := range []string{"198.51.100.7", "198.51.100.8"} {
			if b := enforcementOf(e, h); b.Enforcement != control.Enforced {
				t.Errorf("status of %s after the repair: %+v, want enforced", h, b)
			}
			if rem, ok := remaining(fw, h+"/32"); !ok || rem < time.Hour-10*time.Second || rem > time.Hour {
				t.Errorf("%s in the firewall %v with %v left, want about 1h", h, ok, rem)
			}
		}
		if enf, pend := e.counts("ssh"); enf != 2 || pend != 0 {
			t.Errorf("counts after the repair = %d enforced, %d pending; want 2, 0", enf, pend)
		}
		if n := metricValue(t, reg, "peerjail_firewall_repairs_total", "what", "table"); n != 1 {
			t.Errorf("peerjail_firewall_repairs_total{what=table} = %v, want 1", n)
		}
	})
}

// The loop repairs on its period without events, and at once with them;
// a ban keeps the end it had.
func TestVerifyLoopRepairs(t *testing.T) {
	for _, watch := range []bool{false, true} {
		t.Run(fmt.Sprintf("watch=%v", watch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fw := firewall.NewFake()
				fw.SetClock(time.Now)
				e, reg, logs := newTestEnforcer(t, fw)
				ctx := context.Background()
				e.queue(banOf("198.51.100.7", time.Hour))
				e.queue(banOf("2001:db8:1:2::9", time.Hour))
				if err := e.flush(ctx, true); err != nil {
					t.Fatal(err)
				}
				e.startVerifying(verifyOptions{every: 10 * time.Second, watch: watch})
				defer e.stopVerifying()
				time.Sleep(time.Minute)
				fw.DeleteElement("ssh", netip.MustParsePrefix("198.51.100.7/32"))
				fw.DeleteSet("ssh_v6")
				wait := 10 * time.Second // the period
				if watch {
					wait = time.Second
				}
				time.Sleep(wait)
				synctest.Wait()
				for _, p := range []string{"198.51.100.7/32", "2001:db8:1:2::/64"} {
					// The ban was made a minute and a period ago.
					if rem, ok := remaining(fw, p); !ok || rem != time.Hour-time.Minute-wait {
						t.Errorf("%s back %v with %v left, want %v", p, ok, rem, time.Hour-time.Minute-wait)
					}
				}
				if !strings.Contains(logs.String(), `missing="set ssh_v6 missing, set ssh_v4 missing 1 element, set ssh_v6 lost 1 element"`) {
					t.Errorf("the warning does not name what was missing:\n%s", logs)
				}
				for _, what := range []string{"set", "element"} {
					if n := metricValue(t, reg, "peerjail_firewall_repairs_total", "what", what); n != 1 {
						t.Errorf("peerjail_firewall_repairs_total{what=%s} = %v, want 1", what, n)
					}
				}
				if n := metricValue(t, reg, "peerjail_firewall_repairs_total", "what", "table"); n != 0 {
					t.Errorf("peerjail_firewall_repairs_total{what=table} = %v, want 0", n)
				}
			})
		})
	}
}

// Status and the gauges show what the kernel holds: a ban the kernel lost
// is pending, with why, until it is put back.
func TestStatusAndMetricsShowEnforcement(t *testing.T) {
	dir := t.TempDir()
	fw := firewall.NewFake()
	reg := prometheus.NewRegistry()
	log, cfg := filepath.Join(dir, "auth.log"), filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf(sshConfig, log)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{
		ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1})),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil }, Notify: func(string) {}, Registry: reg,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	c := control.Client{Path: filepath.Join(dir, "run", "peerjail.sock"), Timeout: 5 * time.Second}
	gauges := func() (float64, float64) {
		return metricValue(t, reg, "peerjail_banned", "jail", "ssh"), metricValue(t, reg, "peerjail_bans_pending", "jail", "ssh")
	}

	if _, err := c.Ban(context.Background(), "ssh", "198.51.100.7", time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if b := bannedIn(t, c, "ssh")["198.51.100.7"]; b.Enforcement != control.Enforced {
		t.Errorf("status after the ban: %+v, want enforced", b)
	}
	if banned, pending := gauges(); banned != 1 || pending != 0 {
		t.Errorf("peerjail_banned %v, peerjail_bans_pending %v; want 1, 0", banned, pending)
	}

	_ = d.enf.stopVerifying() // so that the test sees the state before the repair
	fw.FlushRuleset()
	if _, err := c.Ban(context.Background(), "ssh", "198.51.100.8", time.Hour, false); err == nil {
		t.Error("ban into a flushed firewall reported success")
	}
	if _, ok := d.enf.check(context.Background()); !ok {
		t.Fatal("check failed")
	}
	st := bannedIn(t, c, "ssh")
	for h, why := range map[string]string{"198.51.100.7": "missing from the kernel", "198.51.100.8": "missing from the kernel"} {
		if b := st[h]; b.Enforcement != control.Pending || !strings.Contains(b.Error, why) {
			t.Errorf("status of %s with the table gone: %+v, want pending (%s)", h, b, why)
		}
	}
	if banned, pending := gauges(); banned != 0 || pending != 2 {
		t.Errorf("with the table gone: peerjail_banned %v, peerjail_bans_pending %v; want 0, 2", banned, pending)
	}
	if n := metricValue(t, reg, "peerjail_firewall_errors_total", "op", "apply"); n < 1 {
		t.Errorf("peerjail_firewall_errors_total{op=apply} = %v, want at least 1", n)
	}

	d.enf.startVerifying(defaultVerify)
	waitFor(t, "the loop watching", func() bool { return fw.Watchers() == 1 })
	fw.FlushRuleset() // the fake's event starts the repair
	waitFor(t, "both bans enforced again", func() bool {
		st := bannedIn(t, c, "ssh")
		return st["198.51.100.7"].Enforcement == control.Enforced && st["198.51.100.8"].Enforcement == control.Enforced
	})
	if !inFirewall(fw, "ssh", "198.51.100.7/32") || !inFirewall(fw, "ssh", "198.51.100.8/32") {
		t.Error("status says enforced, the firewall lacks the bans")
	}
	if banned, pending := gauges(); banned != 2 || pending != 0 {
		t.Errorf("after the repair: peerjail_banned %v, peerjail_bans_pending %v; want 2, 0", banned, pending)
	}
}
