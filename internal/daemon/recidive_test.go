package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// Two jails read one log and ban on every line; the recidive jail bans a
// host at its third ban in a day.
const recidiveConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 1
    ignoreself: false
  ssh-again:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 1
    ignoreself: false
  recidive:
    type: recidive
    maxretry: 3
    ignoreself: false
`

// A ban the store remembers from before the start counts: with it, the two
// bans of one line make three, and the recidive jail bans for a week. A
// host without such history is not banned by it.
func TestDaemonRecidiveSeededFromHistory(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(recidiveConfig, log)), 0o600)
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.Update(store.Batch{PutOffenders: []store.Offender{
		{Jail: "ssh", Key: "198.51.100.7", Offences: 1, Last: now.Add(-time.Hour)},
		{Jail: "ssh", Key: "198.51.100.8", Offences: 1, Last: now.Add(-48 * time.Hour)}, // beyond findtime
	}})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	td := newTestDaemon(t, dir, firewall.NewFake())
	td.appendLines(t, failed("198.51.100.7", 1)...)
	td.appendLines(t, failed("198.51.100.8", 1)...)
	waitFor(t, "the recidive ban", func() bool { return inFirewall(td.fw, "recidive", "198.51.100.7/32") })
	waitFor(t, "the second host's bans", func() bool { return inFirewall(td.fw, "ssh-again", "198.51.100.8/32") })
	sts, err := td.client().Status(context.Background(), "recidive")
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || len(sts[0].Banned) != 1 || sts[0].Banned[0].Host != "198.51.100.7" || len(sts[0].Sources) != 0 {
		t.Fatalf("recidive status: %+v", sts)
	}
	if rem := time.Duration(sts[0].Banned[0].Remaining); rem < 6*24*time.Hour {
		t.Errorf("recidive ban remaining %v, want about a week", rem)
	}
}

// An escalated ban reaches the firewall as the wider prefix, and status
// says what it was widened from, also after a restart.
func TestDaemonEscalationInStatus(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(`jails:
  ssh:
    filter: sshd
    source: {files: [%s]}
    maxretry: 1
    ignoreself: false
    ipv6_escalation: {start: 128, steps: [64], after: 2, within: 1h}
`, log)), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	for _, a := range []string{"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1::3"} {
		td.appendLines(t, failed(a, 1)...)
	}
	waitFor(t, "the /64 in the firewall", func() bool { return inFirewall(td.fw, "ssh", "2001:db8:1:1::/64") })
	sts, err := td.client().Status(context.Background(), "ssh")
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]int{}
	for _, b := range sts[0].Banned {
		from[b.Host] = b.EscalatedFrom
	}
	want := map[string]int{"2001:db8:1:1::1": 0, "2001:db8:1:1::2": 0, "2001:db8:1:1::/64": 128}
	if fmt.Sprint(from) != fmt.Sprint(want) {
		t.Fatalf("banned (host: escalated from) %v, want %v", from, want)
	}

	td.stop()
	td = newTestDaemon(t, dir, firewall.NewFake())
	if !inFirewall(td.fw, "ssh", "2001:db8:1:1::/64") {
		t.Fatal("the restored /64 is not in the firewall")
	}
	if sts, err = td.client().Status(context.Background(), "ssh"); err != nil {
		t.Fatal(err)
	}
	clear(from)
	for _, b := range sts[0].Banned {
		from[b.Host] = b.EscalatedFrom
	}
	if fmt.Sprint(from) != fmt.Sprint(want) {
		t.Fatalf("after a restart banned (host: escalated from) %v, want %v", from, want)
	}
}

// A reload that leaves the recidive jail alone keeps its window, also when
// a jail it counts changes: the bans before and after the reload add up.
func TestDaemonRecidiveKeepsWindowOnReload(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(log, nil, 0o600)
	const conf = `jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 1
    ignoreself: false
  ssh-late:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: %[2]d
    findtime: 1h
    ignoreself: false
  recidive:
    type: recidive
    maxretry: 2
    ignoreself: false
`
	os.WriteFile(cfg, []byte(fmt.Sprintf(conf, log, 2)), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	ctx := context.Background()
	c := td.client()
	td.appendLines(t, failed("198.51.100.7", 1)...)
	waitFor(t, "the first ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	// ssh-late changes (its window is lost, as any changed jail's), the
	// recidive jail does not.
	os.WriteFile(cfg, []byte(fmt.Sprintf(conf, log, 1)), 0o600)
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	td.appendLines(t, failed("198.51.100.7", 1)...)
	waitFor(t, "the recidive ban", func() bool { return inFirewall(td.fw, "recidive", "198.51.100.7/32") })
}

// A manual ban is an offence like one found in the log: it counts in the
// recidive jails of its jail, as fail2ban's recidive counts banip.
func TestDaemonManualBansFeedRecidive(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o600)
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(recidiveConfig, log)), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	ctx := context.Background()
	c := td.client()
	for i, jl := range []string{"ssh", "ssh-again", "ssh"} {
		if _, err := c.Ban(ctx, jl, "198.51.100.9", time.Hour, false); err != nil {
			t.Fatal(err)
		}
		if i < 2 && inFirewall(td.fw, "recidive", "198.51.100.9/32") {
			t.Fatalf("recidive banned after %d manual bans (maxretry 3)", i+1)
		}
	}
	waitFor(t, "the recidive ban", func() bool { return inFirewall(td.fw, "recidive", "198.51.100.9/32") })
	sts, err := c.Status(ctx, "recidive")
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || len(sts[0].Banned) != 1 || sts[0].Banned[0].Host != "198.51.100.9" {
		t.Fatalf("recidive status: %+v", sts)
	}
	if _, err := c.Ban(ctx, "ssh", "198.51.100.10", time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if inFirewall(td.fw, "recidive", "198.51.100.10/32") {
		t.Error("one manual ban made a recidive ban")
	}
}
