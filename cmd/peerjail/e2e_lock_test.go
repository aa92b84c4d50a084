//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// One daemon per namespace: a second `run` on the same state or socket exits
// 1 naming the running daemon, and the table is byte for byte as it was; a
// flush refuses while the daemon runs.
func TestE2ESecondRunChangesNothing(t *testing.T) {
	n := newNode(t, "ssh.yaml")
	d := n.start()
	if code, _, errOut := n.cli("ban", "ssh", "192.0.2.7", "--socket", n.sock); code != 0 {
		t.Fatalf("ban: exit %d: %s", code, errOut)
	}
	before := table(t, n)
	if !strings.Contains(before, "192.0.2.7") {
		t.Fatalf("the ban is not in the table:\n%s", before)
	}
	pid := fmt.Sprintf("pid %d", d.cmd.Process.Pid)
	for _, args := range [][]string{
		{"run", "-c", n.cfg, "--state", n.state, "--socket", n.sock},
		{"run", "-c", n.cfg, "--state", n.state, "--socket", filepath.Join(n.dir, "other.sock")},
		{"run", "-c", n.cfg, "--state", filepath.Join(n.dir, "other.db"), "--socket", n.sock},
	} {
		code, _, errOut := n.cli(args...)
		if code != 1 || !strings.Contains(errOut, "another peerjail daemon is running") || !strings.Contains(errOut, pid) {
			t.Errorf("peerjail %s: exit %d, stderr %q; want exit 1 naming %s", strings.Join(args, " "), code, errOut, pid)
		}
		if after := table(t, n); after != before {
			t.Fatalf("peerjail %s changed the table:\nbefore:\n%s\nafter:\n%s", strings.Join(args, " "), before, after)
		}
	}
	code, _, errOut := n.cli("flush", "--state", n.state, "--socket", n.sock)
	if code != 1 || !strings.Contains(errOut, "unban JAIL --all") || !strings.Contains(errOut, "--force") {
		t.Errorf("flush while running: exit %d, stderr %q; want exit 1 pointing at unban --all and --force", code, errOut)
	}
	if after := table(t, n); after != before {
		t.Fatalf("a refused flush changed the table:\n%s", after)
	}
	if st := n.mustStatus(); len(st.Banned) != 1 {
		t.Errorf("the running daemon's bans after the attempts: %+v", st.Banned)
	}
	d.checkLog()
}

// expires is the kernel's countdown of an element's timeout, the one part
// of a listing that changes by itself.
var expires = regexp.MustCompile(` expires [0-9a-z]+`)

// table is `nft -a list table inet peerjail` (with the handles, which a
// re-created table or set would change), its countdowns left out.
func table(t *testing.T, n *e2eNode) string {
	t.Helper()
	return expires.ReplaceAllString(n.ns.MustExec(t, "nft", "-a", "list", "table", "inet", "peerjail"), "")
}
