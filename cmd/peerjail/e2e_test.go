//go:build linux

package main

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/control"
)

// The end-to-end tests run the real peerjail — this test binary, executed
// again with e2eEnv set — as a daemon inside a network namespace of their
// own (`ip netns exec`), so that its nftables table lives and dies there.
// They need root and are skipped otherwise (netnstest.New says why).
//
// e2e_node_test.go drives a namespace (CLI, status, nft, state file),
// e2e_daemon_test.go the daemon process, e2e_flood_test.go writes the log,
// e2e_restart_test.go kills and stops the daemon mid-stream.
const e2eEnv = "PEERJAIL_E2E_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(e2eEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// The policy of testdata/e2e/ssh.yaml.
const (
	e2eMaxRetry = 5
	e2eBanTime  = 10 * time.Minute
)

// hostName is attacker i's address, in 198.18.0.0/15 (for benchmarks, never
// routed). 127.0.0.1 fails logins too, and the default ignoreip ignores it.
func hostName(i int) string { return fmt.Sprintf("198.18.%d.%d", i/200, i%200+1) }

func hostSet(hosts ...int) map[string]bool {
	m := make(map[string]bool, len(hosts))
	for _, i := range hosts {
		m[hostName(i)] = true
	}
	return m
}

func sameKeys[V1, V2 any](a map[string]V1, b map[string]V2) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func hostList[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func TestE2EStatusWithoutDaemon(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	stale := filepath.Join(n.dir, "stale.sock")
	// A socket file nobody listens on, as a killed daemon leaves behind.
	if err := n.ns.Run(func() error {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
		if err != nil {
			return err
		}
		l.SetUnlinkOnClose(false)
		return l.Close()
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, sock string }{
		{"no socket file", filepath.Join(n.dir, "none.sock")},
		{"stale socket file", stale},
	} {
		for _, args := range [][]string{{"status"}, {"status", "--json"}} {
			code, out, errOut := n.cli(append(args, "--socket", tt.sock)...)
			if code != 1 || out != "" || !strings.Contains(errOut, "no peerjail daemon is running") {
				t.Errorf("%s: peerjail %s: exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, "+
					"\"no peerjail daemon is running\"", tt.name, strings.Join(args, " "), code, out, errOut)
			}
		}
	}
}

func TestE2EReload(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	d := n.start()
	fl := n.newFlood(3)
	banned := func(want ...int) func(control.JailStatus) bool {
		return func(st control.JailStatus) bool { return sameKeys(bannedHosts(st), hostSet(want...)) }
	}
	fl.write(t, 0, 0, 0, 0, 0)
	n.waitStatus(20*time.Second, "host 0 banned", banned(0))

	n.writeConfig("broken.yaml")
	code, out, errOut := n.cli("reload", "--socket", n.sock)
	want := n.cfg + `:5:15: jail "ssh": findtime: "3x" is not a duration`
	if code != 2 || out != "" || !strings.Contains(errOut, want) {
		t.Errorf("reload with a broken config: exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, want)
	}
	if st := n.mustStatus(); st.MaxRetry != e2eMaxRetry {
		t.Errorf("after a failed reload maxretry is %d, want the running %d", st.MaxRetry, e2eMaxRetry)
	}
	fl.write(t, 1, 1, 1, 1, 1)
	n.waitStatus(20*time.Second, "host 1 banned after the failed reload", banned(0, 1))

	n.writeConfig("reloaded.yaml")
	d.signal(syscall.SIGHUP)
	n.waitStatus(20*time.Second, "maxretry 3 after SIGHUP", func(st control.JailStatus) bool { return st.MaxRetry == 3 })
	fl.write(t, 3, 3, 2, 2, 2)
	st := n.waitStatus(20*time.Second, "host 2 banned after 3 failures", banned(0, 1, 2))
	if st.Failing != 1 {
		t.Errorf("failing = %d, want 1 (host 3, 2 failures, below maxretry 3)", st.Failing)
	}
	if k := n.kernelBans(); !sameKeys(k, hostSet(0, 1, 2)) {
		t.Errorf("kernel bans %v, want hosts 0, 1, 2", hostList(k))
	}

	// Back to maxretry 5, through the socket: bans still reach the kernel.
	n.writeConfig("ssh.yaml")
	if code, out, errOut := n.cli("reload", "--socket", n.sock); code != 0 || !strings.Contains(out, "reloaded") {
		t.Fatalf("reload with a good config: exit %d, stdout %q, stderr %q; want exit 0, reloaded", code, out, errOut)
	}
	if st := n.mustStatus(); st.MaxRetry != e2eMaxRetry {
		t.Errorf("after reload maxretry is %d, want %d", st.MaxRetry, e2eMaxRetry)
	}
	fl.write(t, 4, 4, 4, 4, 4)
	n.waitStatus(20*time.Second, "host 4 banned after the reload", banned(0, 1, 2, 4))
	if k := n.kernelBans(); !sameKeys(k, hostSet(0, 1, 2, 4)) {
		t.Errorf("kernel bans %v, want hosts 0, 1, 2, 4", hostList(k))
	}
	d.checkLog()
}
