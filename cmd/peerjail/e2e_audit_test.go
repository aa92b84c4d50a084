//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/report"
)

// trail reads the node's audit trail by (jail, key) of its bans.
func (n *e2eNode) trail() map[[2]string][]audit.Record {
	n.t.Helper()
	out := map[[2]string][]audit.Record{}
	if _, err := audit.Read(filepath.Dir(n.state), func(r audit.Record) bool {
		if r.Event == audit.EventBan {
			out[[2]string{r.Jail, r.Key}] = append(out[[2]string{r.Jail, r.Key}], r)
		}
		return true
	}); err != nil {
		n.t.Fatal(err)
	}
	return out
}

// TestE2EAuditSurvivesKill kills the daemon (SIGKILL) in the middle of a
// flood that bans 10,000 hosts: every ban the state file holds has its
// audit record, with the same end, since each batch's records are written
// before the store commits it.
func TestE2EAuditSurvivesKill(t *testing.T) {
	const hosts, perTick = 10000, 40
	n := newNode(t, "ssh.yaml")
	d := n.start()
	fl := n.newFlood(0)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 0; i < hosts; i += perTick {
			for h := i; h < min(i+perTick, hosts); h++ {
				for range e2eMaxRetry {
					fl.fail(h)
				}
			}
			if err := fl.w.Flush(); err != nil {
				done <- err
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	n.waitStatus(30*time.Second, "some hundreds of bans", func(st control.JailStatus) bool { return len(st.Banned) >= 300 })
	d.signal(syscall.SIGKILL)
	if err := d.wait(10 * time.Second); err == nil {
		t.Fatal("daemon exited normally after SIGKILL")
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_, bans := n.saved()
	trail := n.trail()
	if len(bans) == 0 {
		t.Fatal("no ban saved before the kill")
	}
	missing := 0
	for key, b := range bans {
		recs := trail[[2]string{"ssh", key}]
		if len(recs) == 0 || !recs[len(recs)-1].Until.Equal(b.Until) {
			missing++
			if missing <= 5 {
				t.Errorf("ban of %s until %v in the state file: audit records %+v", key, b.Until, recs)
			}
		}
	}
	t.Logf("killed with %d bans saved, %d audit ban records; %d saved bans without their record", len(bans), len(trail), missing)
}

// TestE2EAuditCommands: banned, history, report and unban across every
// jail against a running daemon, then history of the stopped daemon.
func TestE2EAuditCommands(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	d := n.start()
	fl := n.newFlood(0)
	for range e2eMaxRetry {
		fl.write(t, 0, 1)
	}
	n.waitStatus(20*time.Second, "two bans", func(st control.JailStatus) bool { return len(st.Banned) == 2 })
	a, b := hostName(0), hostName(1)
	sock := []string{"--socket", n.sock}
	state := []string{"--state", n.state}

	code, out, _ := n.cli(append([]string{"banned"}, sock...)...)
	if code != 0 || !strings.Contains(out, a) || !strings.Contains(out, b) {
		t.Errorf("banned: exit %d\n%s", code, out)
	}
	code, out, _ = n.cli(append([]string{"banned", a + ":22", "--json"}, sock...)...)
	var in []report.BannedIn
	if err := json.Unmarshal([]byte(out), &in); code != 0 || err != nil || len(in) != 1 || in[0].Jail != "ssh" || in[0].Host != a ||
		in[0].Enforcement != control.Enforced || time.Duration(in[0].Remaining) <= 0 {
		t.Errorf("banned %s --json: exit %d, %v\n%s", a, code, err, out)
	}
	if code, out, _ = n.cli(append([]string{"banned", "203.0.113.99"}, sock...)...); code != 0 || !strings.Contains(out, "not banned") {
		t.Errorf("banned of a host banned nowhere: exit %d\n%s", code, out)
	}
	if code, _, errOut := n.cli(append([]string{"banned", "1.2.3"}, sock...)...); code != exitUsage || !strings.Contains(errOut, "expected an address") {
		t.Errorf("banned 1.2.3: exit %d, %s; want 2 saying what is expected", code, errOut)
	}

	code, out, errOut := n.cli(append([]string{"history", a}, state...)...)
	if code != 0 || !strings.Contains(out, "ssh "+a+": 1 offence") || !strings.Contains(out, "ban by jail") ||
		!strings.Contains(errOut, "a daemon holds the state file") {
		t.Errorf("history while running: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = n.cli(append([]string{"report", a}, state...)...)
	if code != 0 || !strings.Contains(out, "# peerjail evidence report: "+a) || !strings.Contains(out, report.UserMark) ||
		strings.Contains(out, "user admin") || strings.Contains(out, "user oracle") || strings.Contains(out, "for root") {
		t.Errorf("report (redacted by default): exit %d\n%s", code, out)
	}
	code, out, _ = n.cli(append([]string{"report", a, "--no-redact", "--format", "json"}, state...)...)
	var bundle report.Bundle
	if err := json.Unmarshal([]byte(out), &bundle); code != 0 || err != nil || bundle.Redacted || bundle.Host != a ||
		len(bundle.Evidence) != e2eMaxRetry || !strings.Contains(out, "root") || len(bundle.Policies) != 1 || bundle.Policies[0].MaxRetry != e2eMaxRetry {
		t.Errorf("report --no-redact --format json: exit %d, %v\n%s", code, err, out)
	}

	if code, out, _ = n.cli(append([]string{"unban", a}, sock...)...); code != 0 || out != "1 ban(s) lifted in every jail\n" {
		t.Errorf("unban %s: exit %d, %q", a, code, out)
	}
	if code, _, errOut = n.cli(append([]string{"unban", a}, sock...)...); code != exitUsage || !strings.Contains(errOut, "not banned in any jail") {
		t.Errorf("unban of a host no longer banned: exit %d, %s", code, errOut)
	}
	if code, out, _ = n.cli(append([]string{"unban", "--all"}, sock...)...); code != 0 || out != "1 ban(s) lifted in every jail\n" {
		t.Errorf("unban --all: exit %d, %q", code, out)
	}
	if len(n.kernelBans()) != 0 {
		t.Errorf("kernel still holds %v", n.kernelBans())
	}
	d.signal(syscall.SIGTERM)
	if err := d.wait(10 * time.Second); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	code, out, errOut = n.cli(append([]string{"history", b, "--json"}, state...)...)
	var entries []report.Entry
	if err := json.Unmarshal([]byte(out), &entries); code != 0 || err != nil || len(entries) != 1 || entries[0].Offences != 1 ||
		len(entries[0].Events) != 2 || entries[0].Events[1].By != audit.ByManual || entries[0].Events[1].UID == nil || errOut != "" {
		t.Errorf("history of the stopped daemon: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	d.checkLog()
}
