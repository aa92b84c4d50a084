package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/firewall"
)

// fakeClock is the daemon's injected clock, shared with the fake kernel so
// that ban timeouts run on it too.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Two jails on two files: a stamp in one file must not end bans in either.
const clockConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
  bastion:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

// clockDaemon is the test harness's daemon with an injected clock and a
// metrics registry.
type clockDaemon struct {
	*testDaemon
	other string // the bastion jail's log
	reg   *prometheus.Registry
}

func startClockDaemon(t *testing.T, dir string, fw *firewall.Fake, clock *fakeClock) *clockDaemon {
	t.Helper()
	td := &testDaemon{dir: dir, log: filepath.Join(dir, "auth.log"), cfg: filepath.Join(dir, "peerjail.yaml"), fw: fw, notes: &notes{}, reload: make(chan struct{}, 1)}
	cd := &clockDaemon{testDaemon: td, other: filepath.Join(dir, "bastion.log"), reg: prometheus.NewRegistry()}
	for _, f := range []string{td.log, cd.other} {
		if _, err := os.Stat(f); err != nil {
			os.WriteFile(f, nil, 0o600)
		}
	}
	os.WriteFile(td.cfg, []byte(fmt.Sprintf(clockConfig, td.log, cd.other)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{
		ConfigPath: td.cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil },
		Notify:      td.notes.add, Reload: td.reload, Now: clock.Now, Registry: cd.reg,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	td.d, td.cancel, td.served = d, cancel, make(chan error, 1)
	go func() { td.served <- d.Serve(ctx) }()
	t.Cleanup(td.stop)
	return cd
}

func appendTo(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
}

// sshdLines writes n sshd failures from ip with the syslog prefix at (in
// the zone the detector reads it in), or with none when at is zero.
func sshdLines(at time.Time, user, ip string, n int) []string {
	prefix := ""
	if !at.IsZero() {
		prefix = at.Format(time.Stamp) + " bastion sshd[1]: "
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%sInvalid user %s from %s port %d", prefix, user, ip, 4444+i)
	}
	return out
}

// replaced reads peerjail_line_time_replaced_total for a jail and reason.
func (cd *clockDaemon) replaced(t *testing.T, jail, reason string) float64 {
	t.Helper()
	return mustMetricValue(t, cd.reg, "peerjail_line_time_replaced_total", "jail", jail, "reason", reason)
}

// attack writes, as the reproduction does, lines whose user name
// holds a stamp in 2099 or 2001, and lines whose own prefix lies in 2099 or
// 2001 (a clock gone wrong), then checks that no ban in any jail was lifted
// and that every hit counted.
func (cd *clockDaemon) attack(t *testing.T, clock *fakeClock, round int) {
	t.Helper()
	now := clock.Now()
	// A fresh ban first: the engine then knows when its next ban ends, the
	// state in which one line stamped 2099 used to end them all at once.
	fresh := fmt.Sprintf("198.51.100.%d", 50+round)
	appendTo(t, cd.log, sshdLines(now, "root", fresh, 3)...)
	waitFor(t, "a fresh ban", func() bool { return inFirewall(cd.fw, "ssh", fresh+"/32") })
	for _, f := range []string{cd.log, cd.other} {
		appendTo(t, f, sshdLines(time.Time{}, "2099-01-01T00:00:00.123456789Z", "203.0.113.1", 1)...)
		appendTo(t, f, sshdLines(now, "2099-01-01T00:00:00.123456789Z", "203.0.113.2", 1)...)
		appendTo(t, f, "2099-01-01T00:00:00.123456789Z bastion sshd[1]: Invalid user x from 203.0.113.3 port 1")
	}
	pastBefore := cd.replaced(t, "ssh", "past")
	bare := fmt.Sprintf("203.0.113.%d", 10+round)
	prefixed := fmt.Sprintf("203.0.113.%d", 20+round)
	appendTo(t, cd.log, sshdLines(time.Time{}, "2001-01-01T00:00:00.123456789Z", bare, 20)...)
	var old []string
	for i := range 20 {
		old = append(old, fmt.Sprintf("2001-01-01T00:00:00.123456789Z bastion sshd[1]: Invalid user 2001-01-01T00:00:00.123456789Z from %s port %d", prefixed, i))
	}
	appendTo(t, cd.log, old...)
	// A sentinel ban after the attack lines: once it is in the kernel, what
	// the attack lines decided has been applied too.
	sentinel := fmt.Sprintf("198.51.100.%d", 100+round)
	appendTo(t, cd.log, sshdLines(now, "root", sentinel, 3)...)
	waitFor(t, fmt.Sprintf("the sentinel ban of round %d", round), func() bool { return inFirewall(cd.fw, "ssh", sentinel+"/32") })
	for _, b := range []struct{ jail, prefix string }{{"ssh", "198.51.100.7/32"}, {"bastion", "198.51.100.8/32"}, {"ssh", fresh + "/32"}} {
		if !inFirewall(cd.fw, b.jail, b.prefix) {
			t.Errorf("round %d: ban of %s in jail %s lifted by a stamp in a line", round, b.prefix, b.jail)
		}
	}
	for _, ip := range []string{bare, prefixed} {
		if !inFirewall(cd.fw, "ssh", ip+"/32") {
			t.Errorf("round %d: %s sent 20 failures stamped 2001 and is not banned", round, ip)
		}
	}
	if d := cd.replaced(t, "ssh", "past") - pastBefore; d != 20 {
		t.Errorf("round %d: %v lines stamped 2001 counted as replaced, want 20", round, d)
	}
	for _, jail := range []string{"ssh", "bastion"} {
		if cd.replaced(t, jail, "future") < 1 {
			t.Errorf("round %d: the line stamped 2099 in jail %s's log is not counted as replaced", round, jail)
		}
	}
}

// TestClockTakeover is issue 6's reproduction: after a restart and after a
// SIGHUP, one line with a user name stamped 2099 lifted every ban in every
// jail, and twenty with 2001 were dropped as stale, so the attacker was
// never banned. Bans now end by the daemon's clock only.
func TestClockTakeover(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Now().Truncate(time.Second)}
	fw := firewall.NewFake()
	fw.SetClock(clock.Now)
	cd := startClockDaemon(t, dir, fw, clock)
	appendTo(t, cd.log, sshdLines(clock.Now(), "root", "198.51.100.7", 3)...)
	appendTo(t, cd.other, sshdLines(clock.Now(), "root", "198.51.100.8", 3)...)
	waitFor(t, "the bans in both jails", func() bool {
		return inFirewall(fw, "ssh", "198.51.100.7/32") && inFirewall(fw, "bastion", "198.51.100.8/32")
	})
	cd.stop()

	// A restart closes the firewall: the new daemon opens it again and puts
	// back the bans from its store.
	clock.Add(time.Minute)
	fw = firewall.NewFake()
	fw.SetClock(clock.Now)
	cd = startClockDaemon(t, dir, fw, clock)
	cd.attack(t, clock, 1)

	old := cd.d.current()
	cd.reload <- struct{}{}
	waitFor(t, "the reload", func() bool { return cd.d.current() != old })
	clock.Add(time.Minute)
	cd.attack(t, clock, 2)

	// The daemon's clock ends the bans: an hour after they were made.
	clock.Add(58*time.Minute + time.Second)
	waitFor(t, "the first bans to end", func() bool {
		return !inFirewall(fw, "ssh", "198.51.100.7/32") && !inFirewall(fw, "bastion", "198.51.100.8/32")
	})
	if !inFirewall(fw, "ssh", "198.51.100.102/32") {
		t.Error("a ban made later ended with the first ones")
	}
}
