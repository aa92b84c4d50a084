package main

import (
	"strings"
	"testing"
)

// The configuration make install and the .deb put in /etc must check clean
// on a host with none of the logs it names, and run only the ssh jail, from
// the journal, on port 22: nothing else may ban on a fresh host. The one
// warning allowed is check's own about a host without a journal (a build
// machine or container), which is true there and no error.
func TestDefaultConfig(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "-c", "../../configs/default.yaml")
	if code != 0 {
		t.Fatalf("check: exit %d, stderr %q", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if l != "" && !strings.Contains(l, "no journal on this host") {
			t.Errorf("check warned %q, want no warning but a missing journal's", l)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "ssh: filter sshd, journal _SYSTEMD_UNIT=ssh.service or _SYSTEMD_UNIT=sshd.service,") ||
		!strings.Contains(lines[0], "ports 22 tcp, action nftables") {
		t.Errorf("enabled jails:\n%s\nwant only ssh from the journal, on port 22", out)
	}
}
