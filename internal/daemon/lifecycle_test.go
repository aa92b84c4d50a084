package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/peerjail/peerjail/internal/firewall"
)

// setupFails is a fake firewall whose Setup fails while fail is set, as
// nftables does when the new configuration cannot be set up.
type setupFails struct {
	*firewall.Fake
	fail atomic.Bool
}

func (f *setupFails) Setup(ctx context.Context, jails []firewall.Jail) error {
	if f.fail.Load() {
		return errors.New("netlink: operation not permitted")
	}
	return f.Fake.Setup(ctx, jails)
}

// A reload whose firewall setup fails, however often it is tried, leaves
// the running generation as it was: it goes on reading and banning, and the
// reload gauge says 0. (A reload used to stop the running generation first
// and, when restarting it failed too, leave the daemon reading nothing.)
func TestReloadSetupFailsOldKeepsBanning(t *testing.T) {
	fake := firewall.NewFake()
	fw := &setupFails{Fake: fake}
	reg := prometheus.NewRegistry()
	td := newTestDaemonWith(t, t.TempDir(), fake, func(o *Options) {
		o.Registry = reg
		o.NewFirewall = func() (firewall.Firewall, error) { return fw, nil }
	})
	c := td.client()
	td.appendLines(t, failed("198.51.100.1", 2)...)
	waitFor(t, "two hits counted", func() bool { return totalHits(t, td) == 2 })
	before := td.d.current()

	good, _ := os.ReadFile(td.cfg)
	os.WriteFile(td.cfg, []byte(strings.Replace(string(good), "maxretry: 3", "maxretry: 4", 1)), 0o600)
	fw.fail.Store(true)
	err := c.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "operation not permitted") || !strings.Contains(err.Error(), "running configuration stays") {
		t.Fatalf("reload with a failing setup: %v", err)
	}
	if td.d.current() != before || !before.running() {
		t.Fatal("a failed reload replaced or stopped the running generation")
	}
	if got := testutil.ToFloat64(td.d.m.reloadOK); got != 0 {
		t.Errorf("config_last_reload_successful = %v after a failed reload, want 0", got)
	}
	// The old policy (maxretry 3) and its window (2 hits) are still there.
	td.appendLines(t, failed("198.51.100.1", 1)...)
	waitFor(t, "the ban under the running configuration", func() bool { return inFirewall(fake, "ssh", "198.51.100.1/32") })
	if !td.d.healthy(time.Second) {
		t.Error("not healthy after a failed reload")
	}
}

func totalHits(t *testing.T, td *testDaemon) int64 {
	t.Helper()
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	return st[0].TotalHits
}

// readToEnd reports whether the daemon has saved, for the file at path, the
// position at its end.
func readToEnd(t *testing.T, td *testDaemon, path string) bool {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := td.d.st.Positions()
	if err != nil {
		t.Fatal(err)
	}
	for k, pos := range ps {
		// "dev:ino:offset:sum" under "live source|file"
		if f := strings.Split(pos, ":"); strings.HasSuffix(k, "|"+path) && len(f) >= 3 {
			off, err := strconv.ParseInt(f[2], 10, 64)
			return err == nil && off == fi.Size()
		}
	}
	return false
}

// Twenty reloads while lines pour in: every line is counted exactly once
// (no two generations read at once, none skips what the other had not
// counted), and after Stop no goroutine is left.
func TestReloadsUnderFloodCountOnceAndLeakNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	fw := firewall.NewFake()
	td := newTestDaemon(t, dir, fw)
	const writers, perWriter = 4, 1500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			f, err := os.OpenFile(td.log, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			now := time.Now().Format(time.Stamp)
			for i := range perWriter {
				// Every host fails once: nobody is banned, so every line
				// shows in total hits.
				fmt.Fprintf(f, "%s bastion sshd[1]: Failed password for root from 10.%d.%d.%d port 22 ssh2\n",
					now, w, i/250, i%250+1)
				if i%100 == 0 {
					// The behaviour under test: writes keep arriving
					// while the reloads swap readers, not all before.
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	for i := range 20 {
		if err := td.d.Reload(context.Background()); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	wg.Wait()
	// A position is saved after its batch was counted: once the saved one
	// is the file's end, every line read twice would have been counted.
	waitFor(t, "the log read to its end", func() bool { return readToEnd(t, td, td.log) })
	if got := totalHits(t, td); got != writers*perWriter {
		t.Fatalf("total hits %d, want %d: lines counted twice across reloads", got, writers*perWriter)
	}
	td.stop()
	td.d.enf.listing.Wait()
}

// Stop ends every goroutine Start started: sources, batchers, engine,
// ticker, address watch, metrics server, control server.
func TestStopLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reg := prometheus.NewRegistry()
	td := newTestDaemonWith(t, t.TempDir(), firewall.NewFake(), func(o *Options) {
		o.Registry, o.MetricsAddr = reg, "127.0.0.1:0"
	})
	td.appendLines(t, failed("198.51.100.2", 3)...)
	waitFor(t, "ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.2/32") })
	scrape(t, td.d)
	td.stop()
}

// scrape reads the daemon's /metrics over HTTP.
func scrape(t *testing.T, d *Daemon) string {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + d.metricsAddr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The metrics are served by the daemon, and a clean start counts as a
// successful load: the standard "last reload failed" alert stays quiet.
func TestMetricsServedAndReloadGaugeAtStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	td := newTestDaemonWith(t, t.TempDir(), firewall.NewFake(), func(o *Options) {
		o.Registry, o.MetricsAddr = reg, "127.0.0.1:0"
	})
	body := scrape(t, td.d)
	if !strings.Contains(body, "peerjail_config_last_reload_successful 1") {
		t.Errorf("after a clean start /metrics has no peerjail_config_last_reload_successful 1:\n%s", grepLines(body, "reload"))
	}
	if strings.Contains(body, "peerjail_config_last_reload_success_timestamp_seconds 0\n") {
		t.Error("the last successful load's time is 0 after a clean start")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// A metrics address that cannot be bound fails the start before the
// firewall is opened, and leaves no socket behind.
func TestMetricsBindFailureFailsStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	opened := false
	o := testOptions(dir)
	o.Registry, o.MetricsAddr = prometheus.NewRegistry(), busy.Addr().String()
	o.NewFirewall = func() (firewall.Firewall, error) { opened = true; return firewall.NewFake(), nil }
	_, err = Start(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "metrics") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start with a busy metrics port: %v", err)
	}
	if opened {
		t.Error("the firewall was opened before the metrics address was bound")
	}
	if _, err := os.Stat(o.SocketPath); err == nil {
		t.Error("control socket left behind")
	}
	// The lock went with the failed start: a daemon starts now.
	o.Registry, o.MetricsAddr = nil, ""
	d, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}

// testOptions are a daemon's options on dir, with a fake firewall and the
// ssh jail on dir/auth.log.
func testOptions(dir string) Options {
	log := filepath.Join(dir, "auth.log")
	cfg := filepath.Join(dir, "peerjail.yaml")
	if _, err := os.Stat(cfg); err != nil {
		os.WriteFile(log, nil, 0o600)
		os.WriteFile(cfg, []byte(fmt.Sprintf(sshConfig, log)), 0o600)
	}
	return Options{
		ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall: func() (firewall.Firewall, error) { return firewall.NewFake(), nil },
		Notify:      func(string) {},
	}
}

// A second daemon on the same state or socket stops at the lock, before it
// opens the firewall, and names the running daemon's PID.
func TestSecondDaemonRefused(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemon(t, dir, firewall.NewFake())
	for _, tc := range []struct {
		name   string
		change func(o *Options)
	}{
		{"same state and socket", func(*Options) {}},
		{"same state", func(o *Options) { o.SocketPath = filepath.Join(dir, "other.sock") }},
		{"same socket", func(o *Options) { o.StatePath = filepath.Join(dir, "other.db") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(dir)
			opened := false
			o.NewFirewall = func() (firewall.Firewall, error) { opened = true; return firewall.NewFake(), nil }
			tc.change(&o)
			_, err := Start(context.Background(), o)
			if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
				t.Fatalf("second start: %v, want ErrAlreadyRunning naming pid %d", err, os.Getpid())
			}
			if opened {
				t.Error("the second daemon opened the firewall")
			}
		})
	}
	// The first one is unharmed.
	if _, err := td.client().Status(context.Background(), ""); err != nil {
		t.Fatalf("first daemon after the second's attempt: %v", err)
	}
}

// flush refuses while a daemon runs, unless forced, and works once it is
// gone.
func TestFlushRefusedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemon(t, dir, firewall.NewFake())
	var opened []*firewall.Fake // one per flush, as the CLI opens its own
	flushes := func() int {
		n := 0
		for _, fw := range opened {
			for _, c := range fw.Calls() {
				if c.Method == "Flush" {
					n++
				}
			}
		}
		return n
	}
	o := FlushOptions{StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		NewFirewall: func() (firewall.Firewall, error) {
			fw := firewall.NewFake()
			opened = append(opened, fw)
			return fw, nil
		}}
	err := Flush(context.Background(), o)
	if !errors.Is(err, ErrDaemonRunning) || !strings.Contains(err.Error(), "unban JAIL --all") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("flush while running: %v", err)
	}
	if flushes() != 0 {
		t.Fatal("flush touched the firewall although it refused")
	}
	o.Force = true
	if err := Flush(context.Background(), o); err != nil || flushes() != 1 {
		t.Fatalf("flush --force: %v, %d flushes", err, flushes())
	}
	td.stop()
	o.Force = false
	if err := Flush(context.Background(), o); err != nil || flushes() != 2 {
		t.Fatalf("flush with no daemon: %v, %d flushes", err, flushes())
	}
}

// A daemon whose every source has ended has nothing counting: it is not
// healthy (the watchdog stops pinging) and Serve returns an error, so the
// process exits non-zero and systemd restarts it.
func TestLostGenerationEndsServe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	o := testOptions(dir)
	os.WriteFile(o.ConfigPath, []byte(strings.Replace(sshConfig, "%s", `"-"`, 1)), 0o600)
	pr, pw := io.Pipe()
	o.Stdin = pr
	d, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(context.Background()) }()
	if !d.healthy(time.Second) {
		t.Fatal("not healthy while reading standard input")
	}
	pw.Close() // the only source ends
	select {
	case err := <-served:
		if !errors.Is(err, ErrNoGeneration) {
			t.Fatalf("Serve returned %v, want ErrNoGeneration", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running with nothing counting")
	}
	if d.healthy(time.Second) {
		t.Error("healthy with nothing counting")
	}
	if _, err := os.Stat(o.SocketPath); err == nil {
		t.Error("control socket left after Serve ended")
	}
}

// A reload that drops a jail keeps its sets until the swap (the running
// generation may still ban in it), and removes them after.
func TestReloadDropsJailSetsAfterSwap(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	two := fmt.Sprintf(sshConfig, log) + strings.ReplaceAll(strings.TrimPrefix(fmt.Sprintf(sshConfig, log), "jails:\n"), "  ssh:", "  ssh2:")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(two), 0o600)
	fw := firewall.NewFake()
	td := newTestDaemon(t, dir, fw)
	os.WriteFile(td.cfg, []byte(fmt.Sprintf(sshConfig, log)), 0o600)
	if err := td.client().Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	var setups [][]string
	for _, c := range fw.Calls() {
		if c.Method == "Setup" {
			var names []string
			for _, j := range c.Jails {
				names = append(names, j.Name)
			}
			setups = append(setups, names)
		}
	}
	want := [][]string{{"ssh", "ssh2"}, {"ssh", "ssh2"}, {"ssh"}}
	if fmt.Sprint(setups) != fmt.Sprint(want) {
		t.Errorf("Setup calls %v, want %v (start, build with the running jails, after the swap)", setups, want)
	}
	td.appendLines(t, failed("198.51.100.30", 3)...)
	waitFor(t, "a ban after the reload", func() bool { return inFirewall(fw, "ssh", "198.51.100.30/32") })
}
