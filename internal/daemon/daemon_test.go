package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
)

// testDaemon is a daemon on a temporary directory with a fake firewall.
type testDaemon struct {
	dir, log, cfg string
	fw            *firewall.Fake
	d             *Daemon
	cancel        context.CancelFunc
	served        chan error
	notes         *notes
	reload        chan struct{}
}

type notes struct {
	mu  sync.Mutex
	got []string
}

func (n *notes) add(s string) { n.mu.Lock(); n.got = append(n.got, s); n.mu.Unlock() }
func (n *notes) has(s string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, g := range n.got {
		if g == s {
			return true
		}
	}
	return false
}

const sshConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

func newTestDaemon(t *testing.T, dir string, fw *firewall.Fake) *testDaemon {
	t.Helper()
	return newTestDaemonWith(t, dir, fw, nil)
}

// newTestDaemonWith is newTestDaemon with options changed by opt.
func newTestDaemonWith(t *testing.T, dir string, fw *firewall.Fake, opt func(*Options)) *testDaemon {
	t.Helper()
	td := &testDaemon{dir: dir, log: filepath.Join(dir, "auth.log"), cfg: filepath.Join(dir, "peerjail.yaml"), fw: fw, notes: &notes{}, reload: make(chan struct{}, 1)}
	if _, err := os.Stat(td.log); err != nil {
		os.WriteFile(td.log, nil, 0o600)
	}
	if _, err := os.Stat(td.cfg); err != nil {
		os.WriteFile(td.cfg, []byte(fmt.Sprintf(sshConfig, td.log)), 0o600)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{
		ConfigPath: td.cfg, StatePath: filepath.Join(dir, "state.db"), SocketPath: filepath.Join(dir, "run", "peerjail.sock"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall: func() (firewall.Firewall, error) { return fw, nil },
		Notify:      td.notes.add, Reload: td.reload,
	}
	if opt != nil {
		opt(&o)
	}
	d, err := Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	td.d, td.cancel, td.served = d, cancel, make(chan error, 1)
	go func() { td.served <- d.Serve(ctx) }()
	t.Cleanup(td.stop)
	return td
}

func (td *testDaemon) stop() {
	if td.cancel == nil {
		return
	}
	td.cancel()
	<-td.served
	td.cancel = nil
}

func (td *testDaemon) client() control.Client {
	return control.Client{Path: filepath.Join(td.dir, "run", "peerjail.sock"), Timeout: 5 * time.Second}
}

func (td *testDaemon) appendLines(t *testing.T, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(td.log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
}

func failed(ip string, n int) []string {
	now := time.Now().Format(time.Stamp)
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s bastion sshd[1]: Failed password for root from %s port %d ssh2", now, ip, 40000+i))
	}
	return out
}

// waitFor polls cond for up to 10 s: the daemon works asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func inFirewall(fw *firewall.Fake, jail, prefix string) bool {
	els, err := fw.List(context.Background())
	if err != nil {
		return false
	}
	for _, e := range els {
		if e.Jail == jail && e.Prefix == netip.MustParsePrefix(prefix) {
			return true
		}
	}
	return false
}

func TestDaemonBansFromFile(t *testing.T) {
	td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	if !td.notes.has("READY=1") {
		t.Fatal("READY=1 not sent after start")
	}
	td.appendLines(t, failed("198.51.100.7", 2)...)
	td.appendLines(t, time.Now().Format(time.Stamp)+" bastion sshd[1]: Invalid user 203.0.113.66 from 198.51.100.8 port 22")
	// A line stamped older than findtime counts at the time it was read:
	// a clock that is off (or a lie) must not hide a hit.
	td.appendLines(t, time.Now().Add(-2*time.Hour).Format(time.Stamp)+" bastion sshd[1]: Invalid user x from 198.51.100.11 port 22")
	td.appendLines(t, failed("198.51.100.7", 1)...)
	waitFor(t, "the ban in the firewall", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	if inFirewall(td.fw, "ssh", "203.0.113.66/32") {
		t.Fatal("the address in the user name was banned")
	}
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || len(st[0].Banned) != 1 || st[0].Banned[0].Host != "198.51.100.7" || st[0].TotalHits != 5 || st[0].Failing != 2 {
		t.Fatalf("status: %+v", st)
	}
	if rem := time.Duration(st[0].Banned[0].Remaining); rem < 59*time.Minute || rem > time.Hour {
		t.Errorf("remaining %v, want about 1h", rem)
	}
}

func TestDaemonManualBanUnbanAndReload(t *testing.T) {
	td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	ctx := context.Background()
	c := td.client()
	r, err := c.Ban(ctx, "ssh", "2001:db8:1:2::9", 10*time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != "2001:db8:1:2::/64" || time.Duration(r.Duration) != 10*time.Minute {
		t.Fatalf("ban result %+v", r)
	}
	if !inFirewall(td.fw, "ssh", "2001:db8:1:2::/64") {
		t.Fatal("manual ban not in the firewall")
	}
	if n, err := c.Unban(ctx, "ssh", "2001:db8:1:2::/64", false); err != nil || n != 1 {
		t.Fatalf("unban: %d, %v", n, err)
	}
	if inFirewall(td.fw, "ssh", "2001:db8:1:2::/64") {
		t.Fatal("unbanned prefix still in the firewall")
	}
	if _, err := c.Ban(ctx, "nope", "198.51.100.1", 0, false); err == nil || !strings.Contains(err.Error(), `no such jail "nope"`) {
		t.Fatalf("ban in unknown jail: %v", err)
	}

	// A broken config is refused with its position, and the daemon goes on.
	good, _ := os.ReadFile(td.cfg)
	os.WriteFile(td.cfg, []byte(strings.Replace(string(good), "maxretry: 3", "maxretry: three", 1)), 0o600)
	err = c.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "peerjail.yaml:5:15") || !errors.Is(err, control.ErrInvalid) {
		t.Fatalf("reload of a broken config: %v (want its position, marked invalid for exit code 2)", err)
	}
	if _, err := c.Status(ctx, ""); err != nil {
		t.Fatalf("daemon not serving after a failed reload: %v", err)
	}
	td.appendLines(t, failed("198.51.100.9", 3)...)
	waitFor(t, "a ban under the old config", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.9/32") })

	// A good config takes effect; the jail's bans survive it.
	os.WriteFile(td.cfg, []byte(strings.Replace(string(good), "maxretry: 3", "maxretry: 2", 1)), 0o600)
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := c.Status(ctx, "ssh")
	if st[0].MaxRetry != 2 || len(st[0].Banned) != 1 {
		t.Fatalf("after reload: %+v", st)
	}
	td.appendLines(t, failed("198.51.100.10", 2)...)
	waitFor(t, "a ban under the new config", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.10/32") })
}

// Bans survive a restart: the store puts back into the kernel what it lost,
// and an element found only in the kernel is adopted.
func TestDaemonRestartRestores(t *testing.T) {
	dir := t.TempDir()
	td := newTestDaemon(t, dir, firewall.NewFake())
	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	td.stop()

	// A new, empty kernel (a reboot), with one element peerjail did not record.
	fw := firewall.NewFake()
	ctx := context.Background()
	fw.Setup(ctx, []firewall.Jail{{Name: "ssh", Protocol: "all"}})
	fw.Apply(ctx, []firewall.Change{{Jail: "ssh", Prefix: netip.MustParsePrefix("198.51.100.99/32"), Add: true, Timeout: 30 * time.Minute}})
	td2 := newTestDaemon(t, dir, fw)
	if !inFirewall(fw, "ssh", "198.51.100.7/32") {
		t.Fatal("ban from the store not restored into the kernel")
	}
	st, err := td2.client().Status(ctx, "ssh")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, b := range st[0].Banned {
		hosts[b.Host] = true
	}
	if !hosts["198.51.100.7"] || !hosts["198.51.100.99"] {
		t.Fatalf("bans after restart: %+v", st[0].Banned)
	}
	// Counting resumes after the lines already read: the three old lines
	// are not counted again.
	if st[0].TotalHits != 0 {
		t.Errorf("hits counted again after restart: %d", st[0].TotalHits)
	}
}

func TestDaemonBadConfigAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte("jails:\n  ssh:\n    filter: nope\n"), 0o600)
	_, err := Start(context.Background(), Options{ConfigPath: cfg, StatePath: filepath.Join(dir, "s.db"), SocketPath: filepath.Join(dir, "s.sock"),
		NewFirewall: func() (firewall.Firewall, error) { return firewall.NewFake(), nil }, Notify: func(string) {}})
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err = %v, want config.ErrInvalid", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "s.sock")); err == nil {
		t.Error("control socket left behind after a failed start")
	}
}

// The watchdog pings only while the counting side answers.
func TestHealthy(t *testing.T) {
	td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	if !td.d.healthy(time.Second) {
		t.Fatal("an idle daemon is not healthy")
	}
	release := make(chan struct{})
	blocked := make(chan struct{})
	go td.d.current().eng.Do(func() { close(blocked); <-release })
	<-blocked
	if td.d.healthy(50 * time.Millisecond) {
		t.Error("a daemon whose counting is stuck is healthy")
	}
	close(release)
}

// Stop without Serve removes the control socket, so a new daemon can start.
func TestStopWithoutServe(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(sshConfig, filepath.Join(dir, "auth.log"))), 0o600)
	o := Options{ConfigPath: filepath.Join(dir, "peerjail.yaml"), StatePath: filepath.Join(dir, "state.db"),
		SocketPath: filepath.Join(dir, "peerjail.sock"), Notify: func(string) {},
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewFirewall: func() (firewall.Firewall, error) { return firewall.NewFake(), nil }}
	for range 2 {
		d, err := Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(o.SocketPath); err == nil {
		t.Error("control socket left after Stop")
	}
}

// A ban the kernel refuses is neither saved nor dropped: it is retried until
// the kernel takes it, and only then saved.
func TestKernelFailureRetried(t *testing.T) {
	fw := firewall.NewFake()
	td := newTestDaemon(t, t.TempDir(), fw)
	fw.FailNext("Apply", errors.New("netlink: no buffer space"))
	td.appendLines(t, failed("198.51.100.20", 3)...)
	waitFor(t, "the ban after the retry", func() bool { return inFirewall(fw, "ssh", "198.51.100.20/32") })
	applies := 0
	for _, c := range fw.Calls() {
		if c.Method == "Apply" {
			applies++
		}
	}
	if applies < 2 {
		t.Errorf("%d Apply calls, want the failed one and its retry", applies)
	}
}
