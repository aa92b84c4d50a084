//go:build linux

package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/firewall"
)

const auditMountEnv = "PEERJAIL_DAEMON_AUDIT_MOUNTNS"

// inOwnMountNS runs the test named name again under "unshare --mount" and
// returns false in the parent, which has then checked the child's result;
// in the child it returns true once sure that mounts stay in the child.
func inOwnMountNS(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv(auditMountEnv) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: mounts a tmpfs in a private mount namespace")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("needs unshare (util-linux)")
		}
		bin, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", bin, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), auditMountEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
			t.Fatalf("child: %v", err)
		}
		return false
	}
	self, err1 := os.Readlink("/proc/self/ns/mnt")
	parent, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err1 != nil || err2 != nil || self == parent {
		t.Fatalf("not in a mount namespace of its own (%s, parent %s): refusing to mount", self, parent)
	}
	return true
}

func mount(t *testing.T, src, target, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := syscall.Mount(src, target, fstype, flags, data); err != nil {
		t.Fatalf("mount %s on %s: %v", src, target, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
}

func auditCounters(t *testing.T, reg *prometheus.Registry) (errs, dropped float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "peerjail_audit_errors_total":
			errs = mf.GetMetric()[0].GetCounter().GetValue()
		case "peerjail_audit_dropped_total":
			dropped = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return errs, dropped
}

// TestAuditReadOnlyStateDir: with the state directory read-only (only the
// state file and its lock writable, bind-mounted in), the trail cannot be
// created; the daemon starts, bans every host, and counts the records it
// drops with one error logged.
func TestAuditReadOnlyStateDir(t *testing.T) {
	if !inOwnMountNS(t, "TestAuditReadOnlyStateDir") {
		return
	}
	dir := t.TempDir()
	stateDir, rw := filepath.Join(dir, "state"), filepath.Join(dir, "rw")
	for _, d := range []string{stateDir, rw} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mount(t, "tmpfs", stateDir, "tmpfs", 0, "size=8m")
	for _, name := range []string{"state.db", "state.db.lock"} {
		for _, d := range []string{stateDir, rw} {
			if err := os.WriteFile(filepath.Join(d, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mount(t, "", stateDir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	for _, name := range []string{"state.db", "state.db.lock"} {
		mount(t, filepath.Join(rw, name), filepath.Join(stateDir, name), "", syscall.MS_BIND, "")
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
	waitLong(t, "every record dropped", func() bool { _, dropped := auditCounters(t, reg); return dropped == n })
	d.stop()
	if errs, _ := auditCounters(t, reg); errs < 2 {
		t.Errorf("peerjail_audit_errors_total %v, want the open at start and the writes", errs)
	}
	if got := strings.Count(logs.String(), "audit trail write failed"); got != 1 || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("%d audit warnings logged, want 1 and no error:\n%.2000s", got, logs.String())
	}
}

// TestAuditFullDisk: on a full disk the trail drops and counts its records
// while the daemon bans on; once there is room it records again by itself.
func TestAuditFullDisk(t *testing.T) {
	if !inOwnMountNS(t, "TestAuditFullDisk") {
		return
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	mount(t, "tmpfs", stateDir, "tmpfs", 0, "size=8m")
	logs := &syncBuffer{}
	fw := firewall.NewFake()
	reg := prometheus.NewRegistry()
	d := startFullDisk(t, dir, stateDir, fw, reg, logs)
	filler := filepath.Join(stateDir, "filler")
	fillDisk(t, filler)
	const n = 5000
	writeFailures(t, filepath.Join(dir, "auth.log"), n)
	waitLong(t, "every ban in the kernel", func() bool { els, _ := fw.List(context.Background()); return len(els) == n })
	errs, dropped := auditCounters(t, reg)
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
