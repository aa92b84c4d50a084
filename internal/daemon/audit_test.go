package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/jail"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/firewall"
)

const twoJailsConfig = `jails:
  ssh:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 3
    findtime: 10m
    bantime: 1h
    ignoreself: false
  ssh-dry:
    filter: sshd
    source: {files: [%[1]s]}
    maxretry: 3
    findtime: 10m
    bantime: 2h
    action: dry-run
    ignoreself: false
`

func readTrail(t *testing.T, dir string) []audit.Record {
	t.Helper()
	var out []audit.Record
	skipped, err := audit.Read(dir, func(r audit.Record) bool { out = append(out, r); return true })
	if err != nil || skipped != 0 {
		t.Fatalf("read the trail: %v, %d lines skipped", err, skipped)
	}
	return out
}

// TestAuditTrailRecordsEveryDecision: bans by a jail with their evidence
// and action results, a manual ban and unbans with the caller's uid
// (unban without a jail lifts the host in every jail), and reloads that
// worked and failed, in the order they happened.
func TestAuditTrailRecordsEveryDecision(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "peerjail.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(twoJailsConfig, filepath.Join(dir, "auth.log"))), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	ctx := context.Background()
	c := td.client()
	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "the ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	if _, err := c.Ban(ctx, "ssh", "203.0.113.9", time.Minute, false); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Unban(ctx, "", "198.51.100.7", false); err != nil || n != 2 {
		t.Fatalf("unban in every jail: %d, %v; want 2", n, err)
	}
	if _, err := c.Unban(ctx, "", "198.51.100.7", false); err == nil {
		t.Fatal("unban of a host banned nowhere: no error")
	}
	if n, err := c.Unban(ctx, "", "", true); err != nil || n != 1 {
		t.Fatalf("unban --all in every jail: %d, %v; want 1", n, err)
	}
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte("jails: {ssh: {filter: nope}}\n"), 0o600)
	if err := c.Reload(ctx); err == nil {
		t.Fatal("a broken configuration reloaded")
	}
	td.stop()

	recs := readTrail(t, dir)
	uid := uint32(os.Getuid())
	type want struct{ event, by, jail, key, action string }
	wants := []want{
		{"ban", "jail", "ssh", "198.51.100.7", "nftables"},
		{"ban", "jail", "ssh-dry", "198.51.100.7", "dry-run"},
		{"ban", "manual", "ssh", "203.0.113.9", "nftables"},
		{"unban", "manual", "ssh", "198.51.100.7", "nftables"},
		{"unban", "manual", "ssh-dry", "198.51.100.7", "dry-run"},
		{"unban", "manual", "ssh", "203.0.113.9", "nftables"},
		{"reload", "manual", "", "", ""},
		{"reload", "manual", "", "", ""},
	}
	if len(recs) != len(wants) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(wants), recs)
	}
	for i, w := range wants {
		r := recs[i]
		got := want{r.Event, r.By, r.Jail, r.Key, ""}
		if len(r.Actions) == 1 && r.Actions[0].OK {
			got.action = r.Actions[0].Action
		}
		if got != w {
			t.Errorf("record %d: %+v, want %+v", i, got, w)
		}
		if (r.By == "manual") != (r.UID != nil) || (r.UID != nil && *r.UID != uid) {
			t.Errorf("record %d: by %s, uid %v; want the caller's uid %d on manual records", i, r.By, r.UID, uid)
		}
		if r.Time.IsZero() {
			t.Errorf("record %d has no time", i)
		}
	}
	b := recs[0]
	if len(b.Evidence) != 3 || b.Hits != 3 || b.Offences != 1 || b.Filter != "sshd" ||
		b.Policy == nil || *b.Policy != (audit.Policy{FindTime: "10m0s", MaxRetry: 3, BanTime: "1h0m0s"}) ||
		len(b.Sources) != 1 || b.Until.Sub(b.At) != time.Hour {
		t.Errorf("ban record %+v: want 3 evidence lines, hits, offences, filter, policy, source, an hour", b)
	}
	if ok := recs[6].OK; ok == nil || !*ok {
		t.Errorf("reload that worked: ok %v", ok)
	}
	if r := recs[7]; r.OK == nil || *r.OK || r.Error == "" || r.Config != cfg {
		t.Errorf("reload that failed: %+v, want ok false with the error and the file", r)
	}
}

// TestAuditOff: enabled: false writes no trail.
func TestAuditOff(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf("audit: {enabled: false}\n"+sshConfig, filepath.Join(dir, "auth.log"))), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	td.appendLines(t, failed("198.51.100.7", 3)...)
	waitFor(t, "the ban", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.7/32") })
	td.stop()
	if files, err := audit.Files(dir); err != nil || len(files) != 0 {
		t.Errorf("trail files %v (%v) with the audit off", files, err)
	}
}

// TestAuditRotatesAsConfigured: the audit section's max_size and keep reach
// the trail: with 40 bans in a 2KB file, two rotated files remain.
func TestAuditRotatesAsConfigured(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf("audit: {max_size: 2KB, keep: 2}\n"+sshConfig, filepath.Join(dir, "auth.log"))), 0o600)
	td := newTestDaemon(t, dir, firewall.NewFake())
	for i := range 40 {
		td.appendLines(t, failed(fmt.Sprintf("198.51.100.%d", i+1), 3)...)
	}
	waitFor(t, "40 bans", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.40/32") })
	td.stop()
	files, err := audit.Files(dir)
	if err != nil || len(files) != 3 || filepath.Base(files[0]) != "audit.jsonl.2" {
		t.Fatalf("trail files %v (%v), want audit.jsonl.2, .1 and the current one", files, err)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() > 2000 {
			t.Errorf("%s: %v bytes (%v), want at most max_size", f, fi.Size(), err)
		}
	}
	if recs := readTrail(t, dir); len(recs) == 0 || recs[len(recs)-1].Key != "198.51.100.40" {
		t.Errorf("the newest record is not the last ban: %+v", recs[len(recs)-1:])
	}
}

// A queued action's answer is recorded after the decision it answers: the
// ban's record says the webhook was handed it (queued), a later "action"
// record that it applied it, or, once it gives up, why not.
func TestAuditRecordsQueuedAnswers(t *testing.T) {
	dir := t.TempDir()
	fa := action.NewFake("webhook 127.0.0.1", nil)
	fa.FailWith(func(d jail.Decision) error {
		if d.Key.String() == "198.51.100.9" {
			return errors.New("hook refused")
		}
		return nil
	})
	td := withFake(t, dir, strings.Replace(hookConfig, "url: 'http://127.0.0.1:1/hook'}", "url: 'http://127.0.0.1:1/hook', retries: 1}", 1), firewall.NewFake(), fa, nil)
	td.appendLines(t, failed("198.51.100.7", 3)...)
	td.appendLines(t, failed("198.51.100.9", 3)...)
	answer := func(key string) (audit.Record, bool) {
		for _, r := range readTrail(t, dir) {
			if r.Event == audit.EventAction && r.Key == key {
				return r, true
			}
		}
		return audit.Record{}, false
	}
	waitFor(t, "the webhook's answers in the trail", func() bool {
		_, ok7 := answer("198.51.100.7")
		_, ok9 := answer("198.51.100.9")
		return ok7 && ok9
	})
	var ban audit.Record
	for _, r := range readTrail(t, dir) {
		if r.Event == audit.EventBan && r.Key == "198.51.100.7" {
			ban = r
		}
	}
	want := []audit.Result{{Action: "nftables", OK: true}, {Action: "webhook 127.0.0.1", Queued: true}}
	if !slices.Equal(ban.Actions, want) {
		t.Errorf("ban record's actions %+v, want %+v", ban.Actions, want)
	}
	if r, _ := answer("198.51.100.7"); r.By != "" || !r.At.Equal(ban.At) || len(r.Actions) != 1 || !r.Actions[0].OK || r.Actions[0].Action != "webhook 127.0.0.1" {
		t.Errorf("answer to the ban: %+v", r)
	}
	if r, _ := answer("198.51.100.9"); len(r.Actions) != 1 || r.Actions[0].OK || !strings.Contains(r.Actions[0].Error, "hook refused") {
		t.Errorf("answer of a webhook that gave up: %+v", r)
	}
}
