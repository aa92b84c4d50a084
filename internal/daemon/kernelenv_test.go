//go:build linux

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/netnstest"
	"github.com/peerjail/peerjail/internal/nftables"
	"github.com/peerjail/peerjail/internal/store"
)

// The environment of the kernel tests and benchmarks: a fresh network
// namespace per test, a configuration, a watched log file and the state.

// otherTable is a table peerjail does not own. It bans an address that the
// tests also ban in peerjail's jail, so that a daemon touching it would show.
const otherTable = `table inet other {
	set blocked {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24, 198.51.100.7 }
	}
	chain input {
		type filter hook input priority 10; policy accept;
		ip saddr @blocked counter drop
		tcp dport 22 accept comment "ssh"
	}
}
`

// kernelEnv is a namespace holding table inet other, and a directory with a
// configuration, a watched log file and the daemon's state.
type kernelEnv struct {
	ns       *netnstest.NS
	fd       int
	dir      string
	logFile  string
	cfg      string
	fw       firewall.Firewall // the test's own view of the namespace's kernel
	other    string            // `nft -a list table inet other` at the start
	logLevel slog.Level
	reg      *prometheus.Registry // receives the daemon's metrics when set
}

// kernelConfig bans after 3 failures within 10 minutes, for an hour.
const kernelConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
`

func newKernelEnv(tb testing.TB) *kernelEnv {
	tb.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		tb.Skip("needs root and nftables: the nft command (Debian package nftables) is not installed")
	}
	ns := netnstest.New(tb)
	env := &kernelEnv{ns: ns, fd: ns.Open(tb), dir: tb.TempDir(), logLevel: slog.LevelWarn}
	fw, err := nftables.New(nftables.WithNetNS(env.fd))
	if err != nil {
		tb.Skipf("needs root and nftables: %v", err)
	}
	tb.Cleanup(func() { _ = fw.Close() })
	env.fw = fw
	env.logFile = filepath.Join(env.dir, "auth.log")
	env.cfg = filepath.Join(env.dir, "peerjail.yaml")
	mustWrite(tb, env.logFile, "")
	mustWrite(tb, env.cfg, fmt.Sprintf(kernelConfig, env.logFile))
	rules := filepath.Join(env.dir, "other.nft")
	mustWrite(tb, rules, otherTable)
	ns.MustExec(tb, "nft", "-f", rules)
	env.other = ns.MustExec(tb, "nft", "-a", "list", "table", "inet", "other")
	return env
}

func mustWrite(tb testing.TB, path, s string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// checkOther fails the test unless table inet other is exactly as it was.
func (env *kernelEnv) checkOther(t testing.TB) {
	t.Helper()
	if got := env.ns.MustExec(t, "nft", "-a", "list", "table", "inet", "other"); got != env.other {
		t.Errorf("table inet other changed:\nbefore:\n%s\nafter:\n%s", env.other, got)
	}
}

func (env *kernelEnv) statePath() string { return filepath.Join(env.dir, "state.db") }

func (env *kernelEnv) client() control.Client {
	return control.Client{Path: filepath.Join(env.dir, "run", "peerjail.sock"), Timeout: 10 * time.Second}
}

// kernelDaemon is a daemon started by kernelEnv.start and serving.
type kernelDaemon struct {
	d      *Daemon
	cancel context.CancelFunc
	served chan error
}

// start starts a daemon whose firewall works in env's namespace and returns
// once Start has (READY).
func (env *kernelEnv) start(tb testing.TB) *kernelDaemon {
	tb.Helper()
	return env.startWith(tb, env.options(tb))
}

// startWith is start with options of the test's own.
func (env *kernelEnv) startWith(tb testing.TB, o Options) *kernelDaemon {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, o)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	kd := &kernelDaemon{d: d, cancel: cancel, served: make(chan error, 1)}
	go func() { kd.served <- d.Serve(ctx) }()
	tb.Cleanup(func() { kd.stop(tb) })
	return kd
}

func (env *kernelEnv) options(tb testing.TB) Options {
	var out io.Writer = io.Discard
	if t, ok := tb.(*testing.T); ok {
		out = t.Output()
	}
	return Options{
		ConfigPath: env.cfg, StatePath: env.statePath(), SocketPath: filepath.Join(env.dir, "run", "peerjail.sock"),
		Logger: slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: env.logLevel})),
		NewFirewall: func() (firewall.Firewall, error) {
			return nftables.New(nftables.WithNetNS(env.fd))
		},
		Notify:   func(string) {},
		Registry: registry(env.reg),
	}
}

// registry is reg as an Options.Registry: nil stays an untyped nil.
func registry(reg *prometheus.Registry) prometheus.Registerer {
	if reg == nil {
		return nil
	}
	return reg
}

// stop stops the daemon and waits until it is down; safe to call twice.
func (kd *kernelDaemon) stop(tb testing.TB) {
	if kd.cancel == nil {
		return
	}
	kd.cancel()
	if err := <-kd.served; err != nil {
		tb.Errorf("daemon stopped with %v", err)
	}
	// A listing of the sets may still run, for an adoption that never came:
	// it must not slow down what the test does next.
	kd.d.enf.listing.Wait()
	kd.cancel = nil
}

func (env *kernelEnv) appendLines(tb testing.TB, lines ...string) {
	tb.Helper()
	f, err := os.OpenFile(env.logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
}

// elements lists the kernel's bans by "jail prefix".
func (env *kernelEnv) elements(tb testing.TB) map[string]time.Duration {
	tb.Helper()
	els, err := env.fw.List(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]time.Duration, len(els))
	for _, e := range els {
		out[e.Jail+" "+e.Prefix.String()] = e.Remaining
	}
	return out
}

// waitElement waits until the kernel holds the element and returns its
// remaining time.
func (env *kernelEnv) waitElement(t *testing.T, id string) time.Duration {
	t.Helper()
	var rem time.Duration
	waitFor(t, id+" in the kernel", func() bool {
		var ok bool
		rem, ok = env.elements(t)[id]
		return ok
	})
	return rem
}

// nftElem is an element as `nft -j list set` shows it, in seconds.
type nftElem struct{ timeout, expires int }

// nftSet cross-checks the backend's List with the nft command.
func (env *kernelEnv) nftSet(t *testing.T, set string) map[netip.Prefix]nftElem {
	t.Helper()
	out := env.ns.MustExec(t, "nft", "-j", "list", "set", "inet", firewall.Table, set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []struct {
					Elem *struct {
						Val     json.RawMessage `json:"val"`
						Timeout int             `json:"timeout"`
						Expires int             `json:"expires"`
					} `json:"elem"`
				} `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j list set %s: %v\n%s", set, err, out)
	}
	got := map[netip.Prefix]nftElem{}
	for _, item := range doc.Nftables {
		if item.Set == nil {
			continue
		}
		for _, e := range item.Set.Elem {
			if e.Elem == nil {
				t.Fatalf("nft -j list set %s: element without timeout in %s", set, out)
			}
			got[nftPrefix(t, e.Elem.Val)] = nftElem{e.Elem.Timeout, e.Elem.Expires}
		}
	}
	return got
}

// nftPrefix reads an element's value: "192.0.2.1" or {"prefix": {...}}.
func nftPrefix(t *testing.T, raw json.RawMessage) netip.Prefix {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("nft element %s: %v", raw, err)
		}
		return netip.PrefixFrom(a, a.BitLen())
	}
	var p struct {
		Prefix struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("nft element %s: %v", raw, err)
	}
	a, err := netip.ParseAddr(p.Prefix.Addr)
	if err != nil {
		t.Fatalf("nft element %s: %v", raw, err)
	}
	return netip.PrefixFrom(a, p.Prefix.Len)
}

// near reports whether got is want, give or take slack (times in the
// kernel tick while the test looks).
func near(got, want, slack time.Duration) bool { return got <= want+slack && got >= want-slack }

// bannedIn returns a jail's current bans from the control socket, by host.
func bannedIn(t *testing.T, c control.Client, jail string) map[string]control.Banned {
	t.Helper()
	st, err := c.Status(context.Background(), jail)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]control.Banned{}
	for _, b := range st[0].Banned {
		out[b.Host] = b
	}
	return out
}

func storedBans(t *testing.T, path string) map[string]store.Ban {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bans, err := st.Bans()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Ban{}
	for _, b := range bans {
		out[b.Jail+" "+b.Key] = b
	}
	return out
}
