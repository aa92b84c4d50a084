//go:build linux

package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/mounttest"
)

// TestAuditReadOnlyStateDir: with the state directory read-only (only the
// state file and its lock writable, bind-mounted in), the trail cannot be
// created; the daemon starts, bans every host, and counts the records it
// drops with one error logged.
func TestAuditReadOnlyStateDir(t *testing.T) {
	if !mounttest.Private(t, "mounts a tmpfs in a private mount namespace") {
		return
	}
	dir, stateDir, rw := t.TempDir(), mounttest.Tmpfs(t, "8m"), t.TempDir()
	for _, name := range []string{"state.db", "state.db.lock"} {
		for _, d := range []string{stateDir, rw} {
			if err := os.WriteFile(filepath.Join(d, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mounttest.ReadOnly(t, stateDir)
	for _, name := range []string{"state.db", "state.db.lock"} {
		mounttest.Bind(t, filepath.Join(rw, name), filepath.Join(stateDir, name))
	}
	if err := os.WriteFile(filepath.Join(stateDir, audit.FileName), nil, 0o600); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("the state directory is writable (%v): the test would prove nothing", err)
	}

	const n = 200
	logs := &syncBuffer{}
	fw := firewall.NewFake()
	reg := prometheus.NewRegistry()
	d := startFullDisk(t, dir, stateDir, fw, reg, logs)
	writeFailures(t, filepath.Join(dir, "auth.log"), n)
	waitLong(t, "every ban in the kernel", func() bool { els, _ := fw.List(context.Background()); return len(els) == n })
	waitLong(t, "every record dropped", func() bool { return metricValue(t, reg, "peerjail_audit_dropped_total") == n })
	d.stop()
	if errs := metricValue(t, reg, "peerjail_audit_errors_total"); errs < 2 {
		t.Errorf("peerjail_audit_errors_total %v, want the open at start and the writes", errs)
	}
	if got := strings.Count(logs.String(), "audit trail write failed"); got != 1 || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("%d audit warnings logged, want 1 and no error:\n%.2000s", got, logs.String())
	}
}

// TestAuditFullDisk: on a full disk the trail drops and counts its records
// while the daemon bans on; once there is room it records again by itself.
func TestAuditFullDisk(t *testing.T) {
	if !mounttest.Private(t, "mounts a tmpfs in a private mount namespace") {
		return
	}
	dir, stateDir := t.TempDir(), mounttest.Tmpfs(t, "8m")
	logs := &syncBuffer{}
	fw := firewall.NewFake()
	reg := prometheus.NewRegistry()
	d := startFullDisk(t, dir, stateDir, fw, reg, logs)
	filler := filepath.Join(stateDir, "filler")
	mounttest.Fill(t, filler)
	const n = 5000
	writeFailures(t, filepath.Join(dir, "auth.log"), n)
	waitLong(t, "every ban in the kernel", func() bool { els, _ := fw.List(context.Background()); return len(els) == n })
	errs, dropped := metricValue(t, reg, "peerjail_audit_errors_total"), metricValue(t, reg, "peerjail_audit_dropped_total")
	if errs == 0 || dropped == 0 {
		t.Fatalf("with the disk full: peerjail_audit_errors_total %v, peerjail_audit_dropped_total %v; want both > 0", errs, dropped)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	td := &testDaemon{log: filepath.Join(dir, "auth.log")}
	td.appendLines(t, failed("203.0.113.77", 1)...)
	waitLong(t, "the ban after the disk has room", func() bool { return inFirewall(fw, "ssh", "203.0.113.77/32") })
	d.stop()
	found := false
	// A write cut short by the full disk leaves a line that is skipped.
	if _, err := audit.Read(stateDir, func(r audit.Record) bool { found = found || r.Key == "203.0.113.77"; return true }); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Error("no record of the ban made once the disk had room")
	}
	if got := strings.Count(logs.String(), "audit trail write failed"); got != 1 {
		t.Errorf("%d audit errors logged, want 1:\n%.2000s", got, logs.String())
	}
}
