package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

const hookConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 3
    bantime: 1h
    ignoreself: false
    actions:
      - nftables
      - {type: webhook, url: 'http://127.0.0.1:1/hook'}
`

// withFake starts a daemon whose webhook actions are fa.
func withFake(t *testing.T, dir, cfg string, fw *firewall.Fake, fa *action.Fake, now func() time.Time) *testDaemon {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(cfg, filepath.Join(dir, "auth.log"))), 0o600)
	return newTestDaemonWith(t, dir, fw, func(o *Options) {
		o.Constructors = map[config.ActionType]action.Constructor{
			config.ActionWebhook: func(spec config.ActionSpec, env action.Env) (action.Action, error) {
				if spec.URL != "http://127.0.0.1:1/hook" || env.Jail != "ssh" {
					return nil, fmt.Errorf("spec %+v env %+v", spec, env)
				}
				return fa, nil
			},
		}
		if now != nil {
			o.Now = now
		}
	})
}

func holds(fa *action.Fake, key string) bool {
	held, _ := fa.Held(context.Background())
	for _, h := range held {
		if h.Jail == "ssh" && h.Key == key {
			return true
		}
	}
	return false
}

func statusOf(t *testing.T, td *testDaemon) control.JailStatus {
	t.Helper()
	st, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	return st[0]
}

// A ban from the log reaches the kernel and the queued action; status
// has a line for each, in config order; an unban reaches both.
func TestDaemonQueuedActionGetsDecisions(t *testing.T) {
	dir := t.TempDir()
	fa := action.NewFake("webhook 127.0.0.1", nil)
	td := withFake(t, dir, hookConfig, firewall.NewFake(), fa, nil)
	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "the ban in the kernel and the action", func() bool {
		return inFirewall(td.fw, "ssh", "198.51.100.7/32") && holds(fa, "198.51.100.7")
	})
	waitFor(t, "status", func() bool {
		s := statusOf(t, td)
		return len(s.Banned) == 1 && s.Banned[0].Enforcement == control.Enforced && len(s.Actions) == 2 && s.Actions[1].Held == 1
	})
	s := statusOf(t, td)
	if s.Action != "nftables, webhook http://127.0.0.1:1" || s.Actions[0].Name != "nftables" || s.Actions[0].Held != 1 ||
		s.Actions[1].Name != "webhook 127.0.0.1" || s.Actions[1].Queued != 0 || s.Actions[1].Failing {
		t.Errorf("status %+v", s)
	}
	if _, err := td.client().Unban(context.Background(), "ssh", "198.51.100.7", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unban in both", func() bool {
		return !inFirewall(td.fw, "ssh", "198.51.100.7/32") && !holds(fa, "198.51.100.7")
	})
	td.stop()
	if !fa.Closed() {
		t.Error("the action was not closed at stop")
	}
}

// A queued action that fails shows in status as failing with its error,
// its bans pending; once it works, they are enforced.
func TestDaemonQueuedActionFailing(t *testing.T) {
	dir := t.TempDir()
	fa := action.NewFake("webhook 127.0.0.1", nil)
	fa.FailWith(func(jail.Decision) error { return errors.New("connection refused") })
	cfg := strings.Replace(hookConfig, "      - nftables\n", "", 1)
	td := withFake(t, dir, cfg, firewall.NewFake(), fa, nil)
	if _, err := td.client().Ban(context.Background(), "ssh", "192.0.2.9", time.Hour, false); err != nil {
		t.Fatal(err)
	}
	// The runner's line and the ban's line are two snapshots: the ban learns
	// the answer once the outcome is saved, a moment after the runner.
	waitFor(t, "the failure in status", func() bool {
		s := statusOf(t, td)
		return len(s.Actions) == 1 && s.Actions[0].Failing && len(s.Banned) == 1 && s.Banned[0].Error != "not applied yet"
	})
	s := statusOf(t, td)
	if a := s.Actions[0]; a.Queued != 1 || a.Since.IsZero() || !strings.Contains(a.Error, "connection refused") ||
		s.Banned[0].Enforcement != control.Pending || !strings.Contains(s.Banned[0].Error, "connection refused") {
		t.Errorf("status %+v", s)
	}
	if inFirewall(td.fw, "ssh", "192.0.2.9/32") {
		t.Error("a jail without nftables banned in the kernel")
	}
	fa.FailWith(nil)
	waitFor(t, "the retry (after 1s of backoff)", func() bool { return statusOf(t, td).Banned[0].Enforcement == control.Enforced })
}

// What the action held when peerjail stopped is reconciled at the next
// start: a ban that ended meanwhile is lifted, a ban it never acknowledged
// is handed over again, one it acknowledged is not.
func TestDaemonActionsReconciledOnStart(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	fa := action.NewFake("webhook 127.0.0.1", nil)
	td := withFake(t, dir, hookConfig, firewall.NewFake(), fa, now)
	ctx := context.Background()
	c := td.client()
	for host, d := range map[string]time.Duration{"192.0.2.1": 10 * time.Minute, "192.0.2.2": 5 * time.Hour} {
		if _, err := c.Ban(ctx, "ssh", host, d, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both acknowledged", func() bool { return acked(t, td, "192.0.2.1") && acked(t, td, "192.0.2.2") })
	fa.FailWith(func(jail.Decision) error { return errors.New("down") })
	if _, err := c.Ban(ctx, "ssh", "192.0.2.3", 5*time.Hour, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed attempt", func() bool { return len(fa.Batches()) >= 3 })
	td.stop()

	mu.Lock()
	clock = clock.Add(time.Hour) // 192.0.2.1's ban ended while peerjail was down
	mu.Unlock()
	fb := action.NewFake("webhook 127.0.0.1", nil)
	td = withFake(t, dir, hookConfig, firewall.NewFake(), fb, now)
	waitFor(t, "the reconciliation", func() bool { return len(fb.Batches()) > 0 })
	got := map[string]jail.Action{}
	for _, b := range fb.Batches() {
		for _, d := range b {
			got[d.Key.String()] = d.Action
		}
	}
	if len(got) != 2 || got["192.0.2.1"] != jail.ActionUnban || got["192.0.2.3"] != jail.ActionBan {
		t.Errorf("handed at start %v: want 192.0.2.1 unbanned and 192.0.2.3 banned, 192.0.2.2 left alone", got)
	}
	waitFor(t, "the records settled", func() bool {
		recs, _ := td.d.st.Actions()
		return len(recs) == 2 && recs[0].Key == "192.0.2.2" && recs[1].Key == "192.0.2.3" && recs[1].Acked
	})
	if s := statusOf(t, td); s.Actions[1].Held != 2 {
		t.Errorf("held %+v: want 192.0.2.2 and .3", s.Actions[1])
	}
}

func acked(t *testing.T, td *testDaemon, key string) bool {
	recs, err := td.d.st.Actions()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Key == key && r.Acked {
			return true
		}
	}
	return false
}

// A configured action type with no constructor stops the start with the
// place of its entry.
func TestDaemonActionNotBuiltIn(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	os.WriteFile(logPath, nil, 0o600)
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("jails:\n  ssh:\n    filter: sshd\n    source: {files: [%s]}\n    actions: [{type: exec, ban: [/bin/true]}]\n", logPath)), 0o600)
	_, err := Start(context.Background(), Options{ConfigPath: cfg, StatePath: filepath.Join(dir, "state.db"),
		SocketPath: filepath.Join(dir, "peerjail.sock"), Notify: func(string) {},
		NewFirewall: func() (firewall.Firewall, error) { return firewall.NewFake(), nil }})
	if !errors.Is(err, ErrNotBuiltIn) || !strings.Contains(err.Error(), cfg+":5:15: jail \"ssh\": action type exec is not built into this binary") {
		t.Errorf("start: %v", err)
	}
}

// An identity's addresses are banned in the kernel with it, a later
// decision adds new ones, and its unban lifts them all but the one another
// ban still holds.
func TestIdentityAddrsInTheKernel(t *testing.T) {
	fw := firewall.NewFake()
	e, _, _ := newTestEnforcer(t, fw)
	ctx := context.Background()
	id := jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: jail.Key{ID: "12D3KooWpeer"}, At: time.Now(), Until: time.Now().Add(time.Hour),
		Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")}}
	e.queue(id)
	more := id
	more.Addrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.3/32")}
	e.queue(more)
	e.queue(banOf("192.0.2.1", time.Hour))
	if err := e.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32"} {
		if !inFirewall(fw, "ssh", p) {
			t.Errorf("%s not in the kernel", p)
		}
	}
	b := []control.Banned{{Host: "12D3KooWpeer"}}
	e.enforcement("ssh", b, []jail.Key{id.Key})
	if b[0].Enforcement != control.Enforced || strings.Join(b[0].Addrs, ",") != "192.0.2.1,192.0.2.2,192.0.2.3" {
		t.Errorf("status of the identity %+v", b[0])
	}
	if enforced, _ := e.counts("ssh"); enforced != 2 {
		t.Errorf("enforced %d: want 2 bans (the identity and 192.0.2.1), not one per address", enforced)
	}
	e.queue(jail.Decision{Action: jail.ActionUnban, Jail: "ssh", Key: id.Key, At: time.Now()})
	if err := e.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	if inFirewall(fw, "ssh", "192.0.2.2/32") || inFirewall(fw, "ssh", "192.0.2.3/32") || !inFirewall(fw, "ssh", "192.0.2.1/32") {
		els, _ := fw.List(ctx)
		t.Errorf("after the unban %v: want only 192.0.2.1, banned on its own", els)
	}
	// The verification loop knows the identity's addresses too.
	e.queue(id)
	if err := e.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	bans, _ := e.kernelBans(time.Now(), []firewall.Jail{{Name: "ssh"}})
	e.mu.Unlock()
	if len(bans) != 3 {
		t.Errorf("kernel bans %v: want 192.0.2.1 once for its own ban and once for the identity, and 192.0.2.2", bans)
	}
}

// A reload that keeps a jail's action keeps its Runner; one that drops
// the action closes it.
func TestReloadKeepsOrClosesQueuedActions(t *testing.T) {
	dir := t.TempDir()
	fa := action.NewFake("webhook 127.0.0.1", nil)
	built := 0
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(hookConfig, filepath.Join(dir, "auth.log"))), 0o600)
	td := newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) {
		o.Constructors = map[config.ActionType]action.Constructor{
			config.ActionWebhook: func(config.ActionSpec, action.Env) (action.Action, error) { built++; return fa, nil },
		}
	})
	ctx := context.Background()
	if err := td.client().Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if built != 1 || fa.Closed() {
		t.Errorf("after a reload without change: built %d times, closed %v", built, fa.Closed())
	}
	os.WriteFile(td.cfg, []byte(fmt.Sprintf(sshConfig, td.log)), 0o600)
	if err := td.client().Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !fa.Closed() {
		t.Error("the dropped action was not closed")
	}
	if s := statusOf(t, td); s.Action != "nftables" || len(s.Actions) != 1 {
		t.Errorf("status after the reload %+v", s)
	}
}

// The verification loop finds an identity's address missing from the
// kernel, shows the ban pending, and puts the address back.
func TestIdentityAddrRepaired(t *testing.T) {
	fw := firewall.NewFake()
	e, _, _ := newTestEnforcer(t, fw)
	ctx := context.Background()
	id := jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: jail.Key{ID: "12D3KooWpeer"}, At: time.Now(), Until: time.Now().Add(time.Hour),
		Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")}}
	e.queue(id)
	if err := e.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	// Someone removes the first: the second, still there, must not hide it.
	fw.Apply(ctx, []firewall.Change{{Jail: "ssh", Prefix: netip.MustParsePrefix("192.0.2.1/32")}})
	drift, ok := e.check(ctx)
	if !ok || drift.None() {
		t.Fatalf("check found no drift: %v", drift)
	}
	b := []control.Banned{{Host: id.Key.ID}}
	e.enforcement("ssh", b, []jail.Key{id.Key})
	if b[0].Enforcement != control.Pending {
		t.Errorf("with an address missing: %+v, want pending", b[0])
	}
	e.mu.Lock()
	e.repairLocked(ctx, drift)
	e.mu.Unlock()
	if !inFirewall(fw, "ssh", "192.0.2.1/32") {
		t.Error("the missing address was not put back")
	}
	e.enforcement("ssh", b, []jail.Key{id.Key})
	if b[0].Enforcement != control.Enforced {
		t.Errorf("after the repair: %+v", b[0])
	}
}

// An identity's ban comes back at start with its addresses, into the
// kernel and into status.
func TestRestoreIdentityAddrs(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	putBans(t, filepath.Join(dir, "state.db"), store.Ban{Jail: "ssh", Key: "12D3KooWpeer", At: now, Until: now.Add(time.Hour), Offences: 1,
		Addrs: []string{"192.0.2.1", "2001:db8::/64"}})
	fw := firewall.NewFake()
	c := startWith(t, dir, fw)
	if !inFirewall(fw, "ssh", "192.0.2.1/32") || !inFirewall(fw, "ssh", "2001:db8::/64") {
		els, _ := fw.List(context.Background())
		t.Fatalf("kernel after start %v: want both addresses", els)
	}
	st, err := c.Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	if b := st[0].Banned; len(b) != 1 || b[0].Enforcement != control.Enforced || strings.Join(b[0].Addrs, ",") != "192.0.2.1,2001:db8::/64" {
		t.Errorf("status %+v", b)
	}
	if _, err := c.Unban(context.Background(), "ssh", "12D3KooWpeer", false); err != nil {
		t.Fatal(err)
	}
	if inFirewall(fw, "ssh", "192.0.2.1/32") || inFirewall(fw, "ssh", "2001:db8::/64") {
		t.Error("the identity's unban left its addresses in the kernel")
	}
}

// An identity in a jail that bans only addresses, with no address known,
// is logged once for the jail, saved, and shown as "identity".
func TestIdentityNoActionTakesIt(t *testing.T) {
	fw := firewall.NewFake()
	e, _, logs := newTestEnforcer(t, fw)
	for _, id := range []string{"12D3KooWone", "12D3KooWtwo"} {
		e.queue(jail.Decision{Action: jail.ActionBan, Jail: "ssh", Key: jail.Key{ID: id}, At: time.Now(), Until: time.Now().Add(time.Hour)})
		if err := e.flush(context.Background(), true); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.count("none of the jail's actions takes"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs)
	}
	b := []control.Banned{{Host: "12D3KooWtwo"}}
	e.enforcement("ssh", b, []jail.Key{{ID: "12D3KooWtwo"}})
	if b[0].Enforcement != "identity" {
		t.Errorf("status %+v", b[0])
	}
	if enforced, pending := e.counts("ssh"); enforced+pending != 0 {
		t.Errorf("counted %d enforced, %d pending: an identity nothing takes is neither", enforced, pending)
	}
	if bans, _ := e.st.Bans(); len(bans) != 2 {
		t.Errorf("stored %d bans, want 2", len(bans))
	}
}

// Every action is built with the daemon's version (Options.Version), which
// a webhook reports.
func TestDaemonActionsGetVersion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(hookConfig, filepath.Join(dir, "auth.log"))), 0o600)
	var got []string
	newTestDaemonWith(t, dir, firewall.NewFake(), func(o *Options) {
		o.Version = "1.2.3-4-gabcdef0"
		o.Constructors = map[config.ActionType]action.Constructor{
			config.ActionWebhook: func(spec config.ActionSpec, env action.Env) (action.Action, error) {
				got = append(got, env.Version)
				return action.NewFake("webhook 127.0.0.1", nil), nil
			},
		}
	})
	if len(got) != 1 || got[0] != "1.2.3-4-gabcdef0" {
		t.Errorf("the webhook was built with versions %q, want [1.2.3-4-gabcdef0]", got)
	}
}
